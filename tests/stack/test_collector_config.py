"""collector-config.yaml: a structural check against the pinned otelcol-contrib release, and its redaction
patterns against the secrets otel-claude's own redactor catches.

The Collector binary cannot run here, so the structure is checked against what release 0.159.0 contains:
component types as that release names them (lower_snake_case since the 2026 renames; the old names are
deprecated aliases there and must not be used), every pipeline built from defined components, memory_limiter
first, every endpoint from ${env:NAME:-default}.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from otel_claude import semconv as sc
from otel_claude.redaction import scrub_value

from .stack_files import COLLECTOR_CONFIG, COMPOSE_FILE, load_yaml

PINNED_RELEASE = "0.159.0"
# Component types of otelcol-contrib 0.159.0 that this stack may use (distributions/otelcol-contrib/
# manifest.yaml of opentelemetry-collector-releases v0.159.0; type names from each component's metadata.yaml).
ALLOWED_TYPES: dict[str, set[str]] = {
    "receivers": {"otlp", "prometheus"},
    "processors": {
        "memory_limiter",
        "batch",
        "redaction",
        "transform",
        "filter",
        "delta_to_cumulative",
        "resource",
        "attributes",
    },
    "exporters": {"otlp_grpc", "otlp_http", "prometheus", "prometheus_remote_write", "debug"},
    "connectors": {"span_metrics", "count", "forward"},
    "extensions": {"health_check", "file_storage", "pprof", "zpages"},
}
# Deprecated aliases in 0.159.0 (renamed to snake_case; they load with a warning and will be removed).
DEPRECATED_TYPES = {
    "spanmetrics",
    "deltatocumulative",
    "otlphttp",
    "prometheusremotewrite",
    "healthcheck",
    "filestorage",
    "memorylimiter",
    "cumulativetodelta",
}
ENV_REF = re.compile(r"^\$\{env:([A-Z][A-Z0-9_]*):-([^}]+)\}$")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COLLECTOR_CONFIG)
    return loaded


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _walk(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in _walk(value, f"{path}[{i}]")]
    return [(path, node)]


def test_top_level_sections(config: dict[str, Any]) -> None:
    assert set(config) == {"extensions", "receivers", "processors", "connectors", "exporters", "service"}


def test_components_are_types_of_the_pinned_release(config: dict[str, Any]) -> None:
    for kind, allowed in ALLOWED_TYPES.items():
        for component_id in config.get(kind) or {}:
            assert _type(component_id) not in DEPRECATED_TYPES, f"{component_id}: deprecated name in {PINNED_RELEASE}"
            assert _type(component_id) in allowed, f"{kind}: {component_id} is not a {PINNED_RELEASE} component"
    # The exporter to Tempo is the OTLP gRPC one, `otlp_grpc` since the rename (`otlp` is its old alias).
    assert all(_type(e) != "otlp" for e in config["exporters"])


def test_image_and_config_name_the_same_release(config: dict[str, Any]) -> None:
    image = load_yaml(COMPOSE_FILE)["services"]["otel-collector"]["image"]
    assert image == f"otel/opentelemetry-collector-contrib:{PINNED_RELEASE}"
    assert f"otelcol-contrib {PINNED_RELEASE}" in COLLECTOR_CONFIG.read_text(encoding="utf-8")


def test_pipelines_use_defined_components_and_memory_limiter_first(config: dict[str, Any]) -> None:
    service = config["service"]
    pipelines = service["pipelines"]
    assert {_type(p) for p in pipelines} == {"traces", "metrics", "logs"}
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set(), "connectors": set()}
    connector_roles: dict[str, set[str]] = {c: set() for c in config["connectors"]}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] and pipeline["exporters"], name
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        for receiver in pipeline["receivers"]:
            kind = "connectors" if receiver in config["connectors"] else "receivers"
            assert receiver in config[kind], f"{name}: undefined receiver {receiver}"
            used[kind].add(receiver)
            if kind == "connectors":
                connector_roles[receiver].add("receiver")
        for processor in pipeline["processors"]:
            assert processor in config["processors"], f"{name}: undefined processor {processor}"
            used["processors"].add(processor)
        for exporter in pipeline["exporters"]:
            kind = "connectors" if exporter in config["connectors"] else "exporters"
            assert exporter in config[kind], f"{name}: undefined exporter {exporter}"
            used[kind].add(exporter)
            if kind == "connectors":
                connector_roles[exporter].add("exporter")
    for kind, ids in used.items():
        assert ids == set(config[kind]), f"{kind} defined but never used: {set(config[kind]) - ids}"
    for connector, roles in connector_roles.items():
        assert roles == {"receiver", "exporter"}, f"connector {connector} must join two pipelines"
    assert set(service["extensions"]) == set(config["extensions"])


def test_endpoints_come_from_env_with_defaults(config: dict[str, Any]) -> None:
    settings = [
        (path, value)
        for path, value in _walk(config)
        if path.rsplit(".", 1)[-1] in ("endpoint", "directory", "host", "port")
    ]
    assert len(settings) >= 8
    for path, value in settings:
        match = ENV_REF.match(str(value))
        assert match, f"{path} = {value!r} is not ${{env:NAME:-default}}"
    defaults = {
        ENV_REF.match(str(v)).group(1): ENV_REF.match(str(v)).group(2)  # type: ignore[union-attr]
        for _, v in settings
    }
    assert defaults["OTELCOL_OTLP_GRPC_ENDPOINT"].endswith(":4317")
    assert defaults["OTELCOL_OTLP_HTTP_ENDPOINT"].endswith(":4318")
    assert defaults["TEMPO_OTLP_ENDPOINT"] == "tempo:4317"


def test_required_settings(config: dict[str, Any]) -> None:
    limiter = config["processors"]["memory_limiter"]
    assert limiter["check_interval"] and ("limit_mib" in limiter or "limit_percentage" in limiter)
    protocols = config["receivers"]["otlp"]["protocols"]
    assert set(protocols) == {"grpc", "http"}
    assert "health_check" in config["extensions"]
    # Traces: to Tempo through a persistent, batching queue that retries until Tempo is back.
    tempo = config["exporters"]["otlp_grpc/tempo"]
    assert tempo["sending_queue"]["storage"] == "file_storage" and tempo["sending_queue"]["enabled"] is True
    assert "batch" in tempo["sending_queue"]
    assert tempo["retry_on_failure"]["max_elapsed_time"] == 0
    assert config["service"]["pipelines"]["traces"]["exporters"][0] == "otlp_grpc/tempo"
    assert config["extensions"]["file_storage"]["create_directory"] is True


def test_metrics_keep_the_agents_names_and_accept_claude_code_delta(config: dict[str, Any]) -> None:
    prometheus = config["exporters"]["prometheus"]
    # Same names as the agent's own /metrics: suffixes on, no namespace, resource attributes not as labels.
    assert prometheus["translation_strategy"] == "UnderscoreEscapingWithSuffixes"
    assert "namespace" not in prometheus and "const_labels" not in prometheus
    assert "resource_constant_labels" not in prometheus
    assert prometheus.get("resource_to_telemetry_conversion", {}).get("enabled", False) is False
    assert prometheus["enable_open_metrics"] is True  # exemplars
    metrics = config["service"]["pipelines"]["metrics"]
    # Claude Code's native OTLP metrics are DELTA; they are made cumulative before the Prometheus exporter.
    assert "delta_to_cumulative" in metrics["processors"]
    assert metrics["exporters"] == ["prometheus"]
    assert "otlp" in metrics["receivers"] and "otlp" in config["service"]["pipelines"]["logs"]["receivers"]


def test_span_metrics_dimensions_are_bounded(config: dict[str, Any]) -> None:
    connector = config["connectors"]["span_metrics"]
    dimensions = {d["name"] for d in connector["dimensions"]}
    assert dimensions <= {sc.CC_SPAN_TYPE, sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_TOOL_NAME, sc.GEN_AI_REQUEST_MODEL}
    assert connector["histogram"]["unit"] == "s"
    # A random id per Collector process (default dimension since 0.136.0): series would restart with every
    # Collector. Excluded, so span-metric series survive a restart of the stack.
    assert "collector.instance.id" in connector["exclude_dimensions"]


def test_no_scope_labels_on_the_prometheus_exporter(config: dict[str, Any]) -> None:
    """otel_scope_version changes with each otel-claude upgrade: new series at lifetime totals, counted twice."""
    assert config["exporters"]["prometheus"]["without_scope_info"] is True


def test_otlp_receiver_takes_the_largest_export_the_agent_sends(config: dict[str, Any]) -> None:
    """The agent sends every span one spool batch finished in one request and retries a refused one forever, so
    the receiver's limit must exceed that request: measured here with content capture on (the largest spans),
    times the batch size, times a margin for records that end several spans (a turn, its calls, LLM calls)."""
    from conftest import SESSION_NAMES, load_session
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from support.driving import feed, make_processor

    from otel_claude.agent.loop import EXPORT_SPANS
    from otel_claude.export.id_generator import DeterministicIdGenerator
    from otel_claude.live.span_factory import ProcessorSettings

    largest = 0
    for name in SESSION_NAMES:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        settings = ProcessorSettings(user_name="dev", capture_content=True)
        feed(make_processor(tracer_provider, MeterProvider(), settings), load_session(name))
        largest = max([largest, *(encode_spans([s]).ByteSize() for s in exporter.get_finished_spans())])
    limit = config["receivers"]["otlp"]["protocols"]["grpc"]["max_recv_msg_size_mib"] * 2**20
    assert largest > 1000, "content capture should make spans large"
    assert EXPORT_SPANS * largest <= limit, (largest, limit)
    assert limit > 4 * 2**20  # gRPC's default, which the issue found too small


# --- redaction: the second line of defence ------------------------------------------------------------------

# Fake secrets in the shapes of the real formats (none is a live credential). Each is assembled from two parts
# so that this file itself never holds a secret-shaped literal for a scanner to flag.
SECRETS = {
    "anthropic": "sk-ant-" + "api03-Xq9vT3bLm2Kp8RwZ4nYc6HdF1gJs5AeU7iO0tQabcDEF123ghiJKL",
    "openai": "sk-proj-" + "T3BlbkFJq8Zx4Vn2Lm6Pk9Rw1Ys5Ud7Ge0Hc3Jf",
    "github_classic": "ghp_" + "1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU",
    "github_oauth": "gho_" + "9Z8y7X6w5V4u3T2s1R0qP9oN8mL7kJ6iH5gF",
    "github_fine_grained": "github_pat_" + "11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789"
    "aBcDeFgHiJkLmNoPqRsTuVwXyZ012",
    "slack": "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe": "sk_live_" + "9fQ2xLm4Rt7Vb1Nc8Kd3Wz6H",
    "aws": "AKIA" + "Q3EGRSZM4XWPTB7N",
    "private_key": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c3f9Zq0\nx7Yk2Lm9Pq==\n"
    "-----END RSA PRIVATE KEY-----",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
}
# Secrets that sit inside a larger text: (text, the part that must disappear).
IN_CONTEXT = {
    "url_password": ("postgres://app:" + "s3cr3tPassw0rd@db.internal:5432/app", "s3cr3tPassw0rd"),
    "bearer": ("Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"),
    "url_password_with_at_and_slash": ("postgres://app:" + "pa@ss/w0rd:9Xq@db.internal:5432/app", "ss/w0rd:9Xq"),
    "discord_bot_token": (
        "bot token " + "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ." + "ZnCjm1XVW7vRze4b7Cq4se7kKWs done",
        "ZnCjm1XVW7vRze4b7Cq4se7kKWs",
    ),
    "truncated_private_key": (
        "key: -----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v",
        "b3BlbnNzaC1rZXktdjEAAAAABG5v",
    ),
}
BENIGN = [
    "task-abcdefghijklmnopqrstuvwxyz012345",
    "disk-usage-monitor-0123456789abcdefghij",
    "gen_ai.usage.input_tokens",
    "claude-opus-5-5",
    "c77f9869-7342-4145-9251-6b7551d2e158",
    "toolu_019aece0a97c49305cc5975b",
    "https://example.com/docs?page=2#usage",
    "input_tokens=12 output_tokens=5",
    "Bearer authentication is required",
    "ls -la /home/dev/project && git status",
    "sk-1234",
]
RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\(\?>|\(\?P=|\\[1-9]|[*+?}]\+|\\Z")


def _mask(config: dict[str, Any], text: str) -> str:
    for pattern in config["processors"]["redaction"]["blocked_values"]:
        text = re.sub(pattern, "****", text)
    return text


def test_redaction_keeps_keys_and_masks_values(config: dict[str, Any]) -> None:
    redaction = config["processors"]["redaction"]
    assert redaction["allow_all_keys"] is True and "allowed_keys" not in redaction
    assert redaction["summary"] in ("info", "silent")  # "debug" would list the key names
    for pipeline in config["service"]["pipelines"].values():
        assert pipeline["processors"][:2] == ["memory_limiter", "redaction"]


def test_redaction_patterns_are_re2(config: dict[str, Any]) -> None:
    redaction = config["processors"]["redaction"]
    for pattern in redaction["blocked_values"] + redaction["blocked_key_patterns"]:
        assert not RE2_UNSUPPORTED.search(pattern), f"not RE2 (Go regexp): {pattern}"
        re.compile(pattern)


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_collector_masks_what_the_package_scrubs(config: dict[str, Any], name: str) -> None:
    secret = SECRETS[name]
    text = f"the value was {secret} yesterday"
    assert secret not in scrub_value(text)[0], f"otel_claude.redaction does not scrub the {name} sample"
    masked = _mask(config, text)
    assert secret not in masked and "****" in masked, f"the Collector lets a {name} secret through: {masked}"
    assert masked.startswith("the value was ") and masked.endswith(" yesterday")


@pytest.mark.parametrize("name", sorted(IN_CONTEXT))
def test_collector_masks_secrets_in_context(config: dict[str, Any], name: str) -> None:
    text, secret = IN_CONTEXT[name]
    assert secret not in scrub_value(text)[0], f"otel_claude.redaction does not scrub the {name} sample"
    assert secret not in _mask(config, text), f"the Collector lets a {name} secret through"


@pytest.mark.parametrize("text", BENIGN)
def test_collector_leaves_ordinary_text_alone(config: dict[str, Any], text: str) -> None:
    assert _mask(config, text) == text


def test_blocked_keys_name_credentials_and_never_our_attributes(config: dict[str, Any]) -> None:
    patterns = [re.compile(p) for p in config["processors"]["redaction"]["blocked_key_patterns"]]

    def blocked(key: str) -> bool:
        return any(p.search(key) for p in patterns)

    for key in (
        "authorization",
        "http.request.header.authorization",
        "api_key",
        "x-api-key",
        "db.password",
        "client_secret",
        "refresh_token",
        "Cookie",
    ):
        assert blocked(key), key
    attributes = [
        v
        for k, v in vars(sc).items()
        if k.isupper() and isinstance(v, str) and "." in v and not k.startswith(("METRIC_", "SPAN_"))
    ]
    assert len(attributes) > 30
    for key in attributes:
        assert not blocked(key), f"the Collector would mask otel-claude's own attribute {key}"
