"""docker-compose.yml, validated by the real Docker Compose v2 (`docker-compose config`) and checked for what
the stack promises: it runs as typed (no variable required), pinned images, read-only config mounts, data
volumes, health checks, loopback-only ports, and no well-known Grafana admin password."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .stack_files import CACHE, COMPOSE_FILE, ROOT, require_tool, which

PINNED_IMAGES = {
    "otel-collector": "otel/opentelemetry-collector-contrib:0.159.0",
    "tempo": "grafana/tempo:3.0.3",
    "prometheus": "quay.io/prometheus/prometheus:v3.13.1",
    "grafana": "grafana/grafana:13.1.0",
    "otel-collector-volume-init": "busybox:1.37.0",
    "alertmanager": "quay.io/prometheus/alertmanager:v0.34.0",
}
# Images with no shell or HTTP client inside (scratch, distroless) cannot have a container health check;
# Prometheus scrapes them instead (the OtelClaudeCollectorDown alert), and the init job runs once.
NO_HEALTHCHECK = {"otel-collector", "tempo", "otel-collector-volume-init"}
CONFIG_MOUNTS = {
    "otel-collector": {("collector-config.yaml", "/etc/otelcol-contrib/config.yaml")},
    "tempo": {("tempo/tempo.yaml", "/etc/tempo/tempo.yaml")},
    "prometheus": {("prometheus", "/etc/prometheus")},
    "grafana": {
        ("grafana/provisioning", "/etc/grafana/provisioning"),
        ("grafana/dashboards", "/etc/grafana/dashboards/otel-claude"),
        ("grafana/docker/admin-password.sh", "/etc/otel-claude/admin-password.sh"),
    },
    "alertmanager": {("alertmanager", "/etc/alertmanager")},
}
DATA_VOLUMES = {
    "otel-collector": "/var/lib/otelcol",
    "tempo": "/var/tempo",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "alertmanager": "/alertmanager",
}


def _compose_binary() -> str:
    return require_tool(which("docker-compose", CACHE / "bin"), "Docker Compose v2 (docker-compose)", "compose.sh")


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "STACK_", "COMPOSE_", "ALERT"))}
    clean.update(env)
    return subprocess.run(
        [_compose_binary(), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The configuration `docker compose up` uses when the user sets nothing at all."""
    result = _compose_config({})
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_compose_is_v2() -> None:
    result = subprocess.run([_compose_binary(), "version", "--short"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.strip().startswith("2."), result.stdout + result.stderr


def test_compose_runs_as_typed_with_no_variable_set() -> None:
    result = _compose_config({})
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


def test_services_and_pinned_images(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == set(PINNED_IMAGES)
    for name, service in services.items():
        assert service["image"] == PINNED_IMAGES[name]
        assert ":latest" not in service["image"]


def test_only_loopback_ports_are_published(config: dict[str, Any]) -> None:
    published = []
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            published.append((name, port["target"], int(port["published"])))
    assert sorted(published) == sorted(
        [
            ("otel-collector", 4317, 4317),
            ("otel-collector", 4318, 4318),
            ("otel-collector", 13133, 13133),
            ("prometheus", 9090, 9090),
            ("grafana", 3000, 3000),
            ("alertmanager", 9093, 9093),
        ]
    )


def test_config_files_are_mounted_read_only(config: dict[str, Any]) -> None:
    for name, expected in CONFIG_MOUNTS.items():
        binds = {
            (Path(v["source"]).relative_to(ROOT).as_posix(), v["target"]): v.get("read_only", False)
            for v in config["services"][name]["volumes"]
            if v["type"] == "bind"
        }
        assert set(binds) == expected, name
        assert all(binds.values()), f"{name}: config mounts must be read-only"
        for source, _ in expected:
            assert (ROOT / source).exists(), source


def test_data_lives_in_named_volumes(config: dict[str, Any]) -> None:
    for name, target in DATA_VOLUMES.items():
        volumes = {v["target"]: v for v in config["services"][name]["volumes"] if v["type"] == "volume"}
        assert target in volumes, f"{name} keeps its data outside a volume"
        assert not volumes[target].get("read_only", False)
    assert set(config["volumes"]) >= {"otelcol-data", "tempo-data", "prometheus-data", "grafana-data"}


def test_health_checks_and_start_order(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            assert "healthcheck" not in service, name
            continue
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and "127.0.0.1" in " ".join(test), name
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    init = services["otel-collector"]["depends_on"]["otel-collector-volume-init"]
    assert init["condition"] == "service_completed_successfully"


def test_grafana_password_is_the_users_or_generated(config: dict[str, Any]) -> None:
    grafana = config["services"]["grafana"]
    assert grafana["entrypoint"] == ["/bin/sh", "/etc/otel-claude/admin-password.sh"]
    environment = grafana["environment"]
    # No password in the compose file: the wrapper generates one unless the user passes theirs through.
    assert not any(k.startswith("GF_SECURITY_ADMIN_PASSWORD") for k in environment)
    assert environment["GRAFANA_ADMIN_PASSWORD"] == ""
    chosen = _compose_config({"GRAFANA_ADMIN_PASSWORD": "users-choice"})
    assert json.loads(chosen.stdout)["services"]["grafana"]["environment"]["GRAFANA_ADMIN_PASSWORD"] == "users-choice"
    # Anonymous access is read-only.
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def test_stack_bind_address_can_be_widened_explicitly() -> None:
    result = _compose_config({"STACK_BIND_ADDRESS": "0.0.0.0"})
    assert result.returncode == 0, result.stderr
    ports = [p for s in json.loads(result.stdout)["services"].values() for p in s.get("ports", [])]
    assert ports and all(p.get("host_ip") == "0.0.0.0" for p in ports)
