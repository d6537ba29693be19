"""Metric -> trace links: the tool-duration histogram (and the tool-call counter) carry exemplars whose trace and
span ids are those of the tool call's span, with the SDK's default exemplar filter and reservoirs."""

from __future__ import annotations

import pytest
from conftest import SESSION_NAMES, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.driving import feed, make_processor

from otel_claude import semconv as sc


def _points(reader: InMemoryMetricReader, name: str) -> list[HistogramDataPoint | NumberDataPoint]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for rm in data.resource_metrics
        for scope in rm.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]  # type: ignore[misc]


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_tool_duration_exemplars_point_at_the_tool_spans(
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.delenv("OTEL_METRICS_EXEMPLAR_FILTER", raising=False)  # the SDK default: trace_based
    feed(make_processor(tracer_provider, meter_provider), load_session(name))
    tool_spans = {
        (s.context.trace_id, s.context.span_id): s
        for s in span_exporter.get_finished_spans()
        if (s.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL
    }
    executions = {
        (s.context.trace_id, s.parent.span_id): s
        for s in span_exporter.get_finished_spans()
        if s.name == sc.SPAN_TOOL_EXECUTION and s.parent is not None
    }
    histogram = _points(metric_reader, sc.METRIC_TOOL_DURATION)
    assert histogram and tool_spans
    seen = 0
    for point in histogram:
        assert point.exemplars, f"no exemplar on {dict(point.attributes or {})}"
        for exemplar in point.exemplars:
            span = tool_spans.get((exemplar.trace_id or 0, exemplar.span_id or 0))
            assert span is not None, "an exemplar that leads to no tool span"
            attributes = span.attributes or {}
            # The exemplar's span is a call of the data point's tool, with that outcome, and the measured
            # value is that call's execution time (its execution child, else the whole call).
            assert attributes[sc.GEN_AI_TOOL_NAME] == (point.attributes or {})[sc.GEN_AI_TOOL_NAME]
            assert attributes[sc.CC_TOOL_OUTCOME] == (point.attributes or {})[sc.CC_TOOL_OUTCOME]
            timed = executions.get((span.context.trace_id, span.context.span_id), span)
            assert timed.end_time is not None and timed.start_time is not None
            assert exemplar.value == pytest.approx((timed.end_time - timed.start_time) / 1e9)
            seen += 1
    assert seen >= len(histogram)
    counters = _points(metric_reader, sc.METRIC_TOOL_CALLS)
    assert counters and all((e.trace_id, e.span_id) in tool_spans for point in counters for e in point.exemplars)


def test_no_exemplars_when_the_user_switches_them_off(
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    """The standard switch still works: OTEL_METRICS_EXEMPLAR_FILTER=always_off."""
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    try:
        feed(make_processor(tracer_provider, meter_provider), load_session(SESSION_NAMES[0]))
        points = _points(metric_reader, sc.METRIC_TOOL_DURATION)
        assert points and not any(point.exemplars for point in points)
    finally:
        meter_provider.shutdown()
