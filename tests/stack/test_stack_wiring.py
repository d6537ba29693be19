"""The stack's files agree with each other: every address one service uses is one another service listens
on, and every path a config names is where docker-compose.yml mounts it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .stack_files import (
    COLLECTOR_CONFIG,
    COMPOSE_FILE,
    DATASOURCES,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    RULE_FILES,
    TEMPO_CONFIG,
    load_yaml,
)

# Top-level blocks of Tempo 3.0's configuration (docs/sources/tempo/configuration/manifest.md at v3.0.3).
TEMPO_TOP_LEVEL = {
    "target",
    "http_api_prefix",
    "server",
    "internal_server",
    "distributor",
    "querier",
    "query_frontend",
    "metrics_generator",
    "storage",
    "overrides",
    "memberlist",
    "usage_report",
    "cache",
    "backend_scheduler",
    "backend_worker",
    "live_store",
    "stream_over_http_enabled",
    "memory",
}


def _env_default(value: str) -> str:
    match = re.fullmatch(r"\$\{env:[A-Z0-9_]+:-([^}]+)\}", str(value))
    assert match, value
    return match.group(1)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return loaded


def _scrape_targets() -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    }


def test_tempo_addresses(compose: dict[str, Any]) -> None:
    tempo = load_yaml(TEMPO_CONFIG)
    assert set(tempo) <= TEMPO_TOP_LEVEL
    http_port = tempo["server"]["http_listen_port"]
    grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    collector = load_yaml(COLLECTOR_CONFIG)
    target = _env_default(collector["exporters"]["otlp_grpc/tempo"]["endpoint"])
    assert target == f"tempo:{grpc.rsplit(':', 1)[1]}"
    assert compose["services"]["otel-collector"]["environment"]["TEMPO_OTLP_ENDPOINT"] == target
    datasource = next(d for d in load_yaml(DATASOURCES)["datasources"] if d["type"] == "tempo")
    assert datasource["url"] == f"http://tempo:{http_port}"
    assert _scrape_targets()["tempo"] == [f"tempo:{http_port}"]
    assert "tempo" in compose["services"]


def test_prometheus_scrapes_the_collector_where_it_serves(compose: dict[str, Any]) -> None:
    collector = load_yaml(COLLECTOR_CONFIG)
    exporter_port = _env_default(collector["exporters"]["prometheus"]["endpoint"]).rsplit(":", 1)[1]
    reader = collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    targets = _scrape_targets()
    assert targets["otel-collector-exporter"] == [f"otel-collector:{exporter_port}"]
    assert targets["otel-collector"] == [f"otel-collector:{_env_default(reader['port'])}"]
    assert _env_default(reader["host"]) == "0.0.0.0"  # reachable from the Prometheus container
    # Never the agent directly as well: the same series twice would double every sum.
    assert not any("9464" in t for ts in targets.values() for t in ts)


def test_published_ports_are_the_receivers_ports(compose: dict[str, Any]) -> None:
    collector = load_yaml(COLLECTOR_CONFIG)
    protocols = collector["receivers"]["otlp"]["protocols"]
    listening = {int(_env_default(p["endpoint"]).rsplit(":", 1)[1]) for p in protocols.values()}
    listening.add(int(_env_default(collector["extensions"]["health_check"]["endpoint"]).rsplit(":", 1)[1]))
    published = {int(p.rsplit(":", 1)[1]) for p in compose["services"]["otel-collector"]["ports"]}
    assert published == listening


def test_collector_storage_is_the_mounted_volume(compose: dict[str, Any]) -> None:
    collector = load_yaml(COLLECTOR_CONFIG)
    directory = _env_default(collector["extensions"]["file_storage"]["directory"])
    volumes = [v for v in compose["services"]["otel-collector"]["volumes"] if v.startswith("otelcol-data:")]
    mount = volumes[0].split(":")[1]
    assert Path(directory).is_relative_to(mount)
    init = compose["services"]["otel-collector-volume-init"]
    assert f"otelcol-data:{mount}" in init["volumes"] and mount in init["command"]


def test_prometheus_config_and_rules_are_where_the_container_reads_them(compose: dict[str, Any]) -> None:
    service = compose["services"]["prometheus"]
    assert "./prometheus:/etc/prometheus:ro" in service["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in service["command"]
    globs = load_yaml(PROMETHEUS_CONFIG)["rule_files"]
    resolved = sorted(p for pattern in globs for p in PROMETHEUS_DIR.glob(pattern))
    assert resolved == RULE_FILES and RULE_FILES
    datasource = next(d for d in load_yaml(DATASOURCES)["datasources"] if d["type"] == "prometheus")
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["jsonData"]["timeInterval"] == load_yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]


def test_collector_config_is_what_the_container_loads(compose: dict[str, Any]) -> None:
    service = compose["services"]["otel-collector"]
    assert "./collector-config.yaml:/etc/otelcol-contrib/config.yaml:ro" in service["volumes"]
    assert service["command"] == ["--config=/etc/otelcol-contrib/config.yaml"]
    tempo = compose["services"]["tempo"]
    assert "./tempo/tempo.yaml:/etc/tempo/tempo.yaml:ro" in tempo["volumes"]
    assert "-config.file=/etc/tempo/tempo.yaml" in tempo["command"]


def test_tempo_retention_comment_names_the_tempo_3_setting() -> None:
    """Tempo 3 keeps blocks for backend_worker.compaction.block_retention (336h by default, docs/sources/tempo/
    configuration/manifest.md at v3.0.3); Tempo 2's compactor block does not exist any more."""
    text = TEMPO_CONFIG.read_text(encoding="utf-8")
    assert "backend_worker.compaction.block_retention" in text
    assert "compactor:" not in text and "compactor.compaction" not in text.replace("Tempo 2's compactor.compaction", "")
    assert "compactor" not in load_yaml(TEMPO_CONFIG)
