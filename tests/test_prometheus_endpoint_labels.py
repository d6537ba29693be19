"""The agent's own /metrics (OpenTelemetry's Prometheus exporter) exposes no otel_scope_* labels: an upgrade of
otel-claude (a new scope version) must not start new series at the lifetime totals the counters carry on from."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

from otel_claude import semconv as sc
from otel_claude.export.providers import prometheus_reader
from otel_claude.version import __version__


def _scrape(version: str) -> str:
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[prometheus_reader(registry)])
    try:
        meter = provider.get_meter("otel_claude", version)
        meter.create_counter(sc.METRIC_TOOL_CALLS, "{call}").add(3, {sc.GEN_AI_TOOL_NAME: "Bash"})
        return generate_latest(registry).decode()
    finally:
        provider.shutdown()


def test_no_scope_labels_so_an_upgrade_keeps_the_same_series() -> None:
    before, after = _scrape(__version__), _scrape("999.0.0")
    series = [line for line in before.splitlines() if line.startswith("otel_claude_tool_calls_total{")]
    assert series == ['otel_claude_tool_calls_total{gen_ai_tool_name="Bash"} 3.0']
    assert "otel_scope_" not in before
    assert [line for line in after.splitlines() if line.startswith("otel_claude_tool_calls_total{")] == series
