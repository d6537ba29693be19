"""Label cardinality is bounded by design: 5,000 tool names, 5,000 MCP tools, 1,000 agent and notification types
(issue 12's flood) keep /metrics, every OTLP request and the snapshot's counter totals far below 4 MiB, and every
measurement is still counted (past the limit, in the SDK's overflow series)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult, MetricsData
from prometheus_client import CollectorRegistry, generate_latest
from support.otlp_receiver import OtlpReceiver

from otel_claude import semconv as sc
from otel_claude.export.counter_totals import CounterTotals, TotalsKeepingMeter
from otel_claude.export.resource import HISTOGRAM_SHARE, cardinality_limits
from otel_claude.handoff import env
from otel_claude.live.metrics import HookMetrics

# Floods of label sets through a real agent's providers: the reliability tier.
pytestmark = pytest.mark.reliability

LIMIT = env.DEFAULT_METRIC_CARDINALITY_LIMIT
BATCH = env.DEFAULT_METRIC_EXPORT_BATCH_SIZE
GRPC_LIMIT = 4 * 1024 * 1024
HISTOGRAMS = {sc.METRIC_TOOL_DURATION, sc.METRIC_SUBAGENT_DURATION, sc.METRIC_TURN_DURATION}
LABELS = {sc.CC_PROJECT: "some-project-name", sc.USER_NAME: "a-developer"}


def _flood(metrics: HookMetrics) -> int:
    """Issue 12's flood; returns how many tool calls were recorded."""
    calls = 0
    for index in range(5000):
        for tool in (f"Tool{index:05d}", f"mcp__server{index % 50}__tool_{index:05d}"):
            metrics.tool_call(tool, sc.OUTCOME_SUCCESS, "main", 0.5, "SomeError", LABELS)
            calls += 1
    for index in range(1000):
        metrics.subagent_ended(f"agent-type-{index}", 3.0, LABELS)
        metrics.notification(f"notification-{index}", LABELS)
        metrics.hook_event(f"Event{index}", LABELS)
    return calls


@pytest.fixture
def flooded() -> Iterator[tuple[InMemoryMetricReader, CollectorRegistry, CounterTotals, int]]:
    registry = CollectorRegistry()
    memory = InMemoryMetricReader(cardinality_limits=cardinality_limits(LIMIT))
    prometheus = PrometheusMetricReader(registry=registry, cardinality_limits=cardinality_limits(LIMIT))
    provider = MeterProvider(metric_readers=[memory, prometheus])
    totals: CounterTotals = {}
    calls = _flood(HookMetrics(TotalsKeepingMeter(provider.get_meter("t"), totals, LIMIT)))
    yield memory, registry, totals, calls
    provider.shutdown()


def _points(data: MetricsData) -> dict[str, list[object]]:
    return {
        metric.name: list(metric.data.data_points)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_each_metric_keeps_at_most_its_limit_and_counts_the_rest_in_overflow(
    flooded: tuple[InMemoryMetricReader, CollectorRegistry, CounterTotals, int],
) -> None:
    memory, _, _, calls = flooded
    data = memory.get_metrics_data()
    assert data is not None
    points = _points(data)
    for name, series in points.items():
        limit = LIMIT // HISTOGRAM_SHARE if name in HISTOGRAMS else LIMIT
        assert len(series) <= limit + 1, name
    tool_calls = points[sc.METRIC_TOOL_CALLS]
    assert sum(point.value for point in tool_calls) == calls  # type: ignore[attr-defined]  # nothing lost
    overflow = [point for point in tool_calls if point.attributes.get(sc.OTEL_METRIC_OVERFLOW)]  # type: ignore[attr-defined]
    assert overflow and overflow[0].value == calls - LIMIT  # type: ignore[attr-defined]


def test_metrics_endpoint_stays_far_below_four_mebibytes(
    flooded: tuple[InMemoryMetricReader, CollectorRegistry, CounterTotals, int],
) -> None:
    _, registry, _, _ = flooded
    text = generate_latest(registry)
    lines = text.count(b"\n")
    print(f"/metrics after the flood: {len(text):,} bytes, {lines:,} lines")  # pytest -s shows it
    assert len(text) < GRPC_LIMIT / 4, len(text)  # it was 35 MB with the SDK's default limit of 2,000
    assert b'otel_metric_overflow="true"' in text


@pytest.mark.parametrize("batch", [BATCH, 100])
def test_each_otlp_request_is_split_far_below_the_grpc_limit(
    batch: int, flooded: tuple[InMemoryMetricReader, CollectorRegistry, CounterTotals, int]
) -> None:
    memory, _, _, _ = flooded
    data = memory.get_metrics_data()
    assert data is not None
    receiver = OtlpReceiver().start()
    try:
        exporter = OTLPMetricExporter(endpoint=receiver.endpoint, insecure=True, max_export_batch_size=batch)
        assert exporter.export(data) == MetricExportResult.SUCCESS
        exporter.shutdown()
        requests = list(receiver.metric_requests)
    finally:
        receiver.stop()
    sizes = [request.ByteSize() for request in requests]
    per_request = [
        sum(len(getattr(metric, metric.WhichOneof("data")).data_points) for rm in r.resource_metrics
            for sm in rm.scope_metrics for metric in sm.metrics)
        for r in requests
    ]  # fmt: skip
    total_points = sum(len(series) for series in _points(data).values())
    assert sum(per_request) == total_points and max(per_request) <= batch  # split by data points, none lost
    assert len(requests) == -(-total_points // batch)
    print(f"OTLP metric export after the flood, batch {batch}: {len(sizes)} requests, largest {max(sizes):,} bytes")
    assert max(sizes) < GRPC_LIMIT / 4, sizes


def test_the_snapshots_counter_totals_are_bounded_and_restore_exactly(
    flooded: tuple[InMemoryMetricReader, CollectorRegistry, CounterTotals, int],
) -> None:
    _, _, totals, calls = flooded
    for name, series in totals.items():
        assert len(series) <= LIMIT + 1, name
    print(f"counter totals in the snapshot after the flood: {len(json.dumps(totals)):,} bytes")
    assert len(json.dumps(totals)) < 512 * 1024  # it was 4.3 MB, rewritten and fsync'd after every batch
    # A restarted agent restores the same totals, overflow included: nothing is counted twice or lost.
    memory = InMemoryMetricReader(cardinality_limits=cardinality_limits(LIMIT))
    provider = MeterProvider(metric_readers=[memory])
    HookMetrics(TotalsKeepingMeter(provider.get_meter("t"), json.loads(json.dumps(totals)), LIMIT))
    data = memory.get_metrics_data()
    assert data is not None
    assert sum(point.value for point in _points(data)[sc.METRIC_TOOL_CALLS]) == calls  # type: ignore[attr-defined]
    provider.shutdown()


def test_a_ledger_saved_under_a_higher_limit_folds_into_overflow() -> None:
    totals: CounterTotals = {sc.METRIC_TOOL_CALLS: {json.dumps([["t", str(i)]]): 1.0 for i in range(50)}}
    memory = InMemoryMetricReader(cardinality_limits=cardinality_limits(10))
    provider = MeterProvider(metric_readers=[memory])
    TotalsKeepingMeter(provider.get_meter("t"), totals, 10).create_counter(sc.METRIC_TOOL_CALLS)
    assert len(totals[sc.METRIC_TOOL_CALLS]) == 11 and sum(totals[sc.METRIC_TOOL_CALLS].values()) == 50
    data = memory.get_metrics_data()
    assert data is not None
    assert sum(point.value for point in _points(data)[sc.METRIC_TOOL_CALLS]) == 50  # type: ignore[attr-defined]
    provider.shutdown()


def test_limits_are_set_by_a_person_and_bad_values_fall_back(tmp_path: Path) -> None:
    from otel_claude import config

    loaded = config.load(
        {
            env.OTEL_CLAUDE_CONFIG_FILE: str(tmp_path / "none.env"),
            env.OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT: "7",
            env.OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE: "0",
        }
    )
    assert loaded.metric_cardinality_limit == 7
    assert loaded.metric_export_batch_size == env.DEFAULT_METRIC_EXPORT_BATCH_SIZE
    assert [problem.name for problem in loaded.problems] == [env.OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE]
