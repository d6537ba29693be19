"""deploy/gateway/collector-gateway.yaml passes the static checks of collector-config.yaml (the same checker,
tests/stack/test_collector_config.py, run on this file), plus what a gateway for many agents needs: TLS and a
bearer token on every receiver protocol, memory limited by percentage of the pod, a persistent queue to Tempo,
remote write with its WAL to Prometheus-compatible storage, and the same release as the local stack."""

from __future__ import annotations

from typing import Any

import pytest
from stack import test_collector_config as checks
from stack.stack_files import ROOT, load_yaml

from otel_claude import semconv as sc

GATEWAY = ROOT / "deploy" / "gateway" / "collector-gateway.yaml"
# The auth extension this file adds to the components collector-config.yaml uses. Its type name is the one in
# the extension's upstream metadata.yaml (extension/bearertokenauthextension); see docs/team.md on the renames.
GATEWAY_EXTENSIONS = {"bearertokenauth"}


@pytest.fixture(scope="module")
def gateway() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(GATEWAY)
    return loaded


@pytest.fixture
def allowed_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(checks.ALLOWED_TYPES, "extensions", checks.ALLOWED_TYPES["extensions"] | GATEWAY_EXTENSIONS)


# --- the local stack's checks, on the gateway file ------------------------------------------------------------
SHARED_CHECKS = [
    checks.test_top_level_sections,
    checks.test_pipelines_use_defined_components_and_memory_limiter_first,
    checks.test_endpoints_come_from_env_with_defaults,
    checks.test_span_metrics_dimensions_are_bounded,
    checks.test_redaction_keeps_keys_and_masks_values,
    checks.test_redaction_patterns_are_re2,
    checks.test_blocked_keys_name_credentials_and_never_our_attributes,
]


@pytest.mark.parametrize("check", SHARED_CHECKS, ids=lambda f: f.__name__)
def test_shared_static_checks(gateway: dict[str, Any], check: Any) -> None:
    check(gateway)


def test_components_are_types_of_the_pinned_release(gateway: dict[str, Any], allowed_types: None) -> None:
    checks.test_components_are_types_of_the_pinned_release(gateway)


@pytest.mark.parametrize("name", sorted(checks.SECRETS))
def test_gateway_masks_what_the_package_scrubs(gateway: dict[str, Any], name: str) -> None:
    checks.test_collector_masks_what_the_package_scrubs(gateway, name)


@pytest.mark.parametrize("name", sorted(checks.IN_CONTEXT))
def test_gateway_masks_secrets_in_context(gateway: dict[str, Any], name: str) -> None:
    checks.test_collector_masks_secrets_in_context(gateway, name)


@pytest.mark.parametrize("text", checks.BENIGN)
def test_gateway_leaves_ordinary_text_alone(gateway: dict[str, Any], text: str) -> None:
    checks.test_collector_leaves_ordinary_text_alone(gateway, text)


def test_same_release_and_patterns_as_the_local_stack(gateway: dict[str, Any]) -> None:
    assert f"otelcol-contrib {checks.PINNED_RELEASE}" in GATEWAY.read_text(encoding="utf-8")
    local = load_yaml(checks.COLLECTOR_CONFIG)
    assert gateway["processors"]["redaction"] == local["processors"]["redaction"], "one set of patterns"


# --- what only a gateway needs ---------------------------------------------------------------------------------
def test_every_protocol_needs_tls_and_the_bearer_token(gateway: dict[str, Any]) -> None:
    protocols = gateway["receivers"]["otlp"]["protocols"]
    assert set(protocols) == {"grpc", "http"}
    for name, protocol in protocols.items():
        assert protocol["tls"]["cert_file"] and protocol["tls"]["key_file"], name
        assert protocol["tls"]["min_version"] in ("1.2", "1.3"), name
        assert protocol["auth"]["authenticator"] == "bearertokenauth", name
    assert protocols["grpc"]["max_recv_msg_size_mib"] <= 64 and protocols["http"]["max_request_body_size"] <= 64 << 20
    auth = gateway["extensions"]["bearertokenauth"]
    assert auth["scheme"] == "Bearer" and "filename" in auth and "token" not in auth, "the token lives in a Secret"
    assert "bearertokenauth" in gateway["service"]["extensions"]


def test_memory_limit_follows_the_pod(gateway: dict[str, Any]) -> None:
    limiter = gateway["processors"]["memory_limiter"]
    assert 0 < limiter["spike_limit_percentage"] < limiter["limit_percentage"] <= 90


def test_fan_out_to_tempo_with_a_persistent_queue_and_to_remote_write(gateway: dict[str, Any]) -> None:
    tempo = gateway["exporters"]["otlp_grpc/tempo"]
    assert tempo["sending_queue"]["enabled"] is True and tempo["sending_queue"]["storage"] == "file_storage"
    assert "batch" in tempo["sending_queue"], "batching after the persistent queue, not in memory before it"
    assert tempo["retry_on_failure"]["max_elapsed_time"] == 0
    remote = gateway["exporters"]["prometheus_remote_write"]
    assert remote["endpoint"].startswith("${env:PROMETHEUS_REMOTE_WRITE_ENDPOINT:-")
    assert remote["wal"]["directory"] and remote["remote_write_queue"]["enabled"] is True
    assert remote["remote_write_queue"]["queue_size"] > 0
    assert remote["resource_to_telemetry_conversion"]["enabled"] is False, "identity is on the data points already"
    pipelines = gateway["service"]["pipelines"]
    assert pipelines["traces"]["exporters"][0] == "otlp_grpc/tempo"
    assert pipelines["metrics"]["exporters"] == ["prometheus_remote_write"]
    # Remote write drops delta sums and histograms: they are made cumulative first.
    assert "delta_to_cumulative" in pipelines["metrics"]["processors"]
    assert gateway["processors"]["delta_to_cumulative"]["max_streams"] > 0


def test_identity_labels_are_not_span_metric_dimensions(gateway: dict[str, Any]) -> None:
    """Per-user cost and activity come from the agents' own metrics; span metrics stay bounded per team."""
    dimensions = {d["name"] for d in gateway["connectors"]["span_metrics"]["dimensions"]}
    assert not dimensions & {sc.USER_NAME, sc.HOST_NAME, sc.SESSION_ID}
