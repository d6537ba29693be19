"""Issue 10 item 4: a tool span keeps the whole call; its children are the wait on the user and the execution, and
the tool-duration histogram measures execution (fixture sessions of Claude Code 2.1.330)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SESSION_NAMES, SESSIONS, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from support.live_usage import LiveRun, feed_fixture

from otel_claude import semconv as sc
from otel_claude.cli.replay import to_ns

MS = 1_000_000


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _children(spans: list[ReadableSpan], parent: ReadableSpan, span_type: str) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        s
        for s in spans
        if s.parent is not None
        and s.parent.span_id == parent.context.span_id
        and _attrs(s).get(sc.CC_SPAN_TYPE) == span_type
    ]


def _histogram(reader: InMemoryMetricReader, name: str) -> tuple[float, int]:
    total, count = 0.0, 0
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        total += point.sum
                        count += point.count
    return total, count


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_execution_children_equal_duration_ms_and_the_histogram_sums_them(
    name: str,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    feed_fixture(LiveRun(tracer_provider, meter_provider), SESSIONS / name, load_session(name))
    spans = list(span_exporter.get_finished_spans())
    tools = [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]
    durations: list[float] = []
    for tool in tools:
        executions = _children(spans, tool, sc.SPAN_TYPE_TOOL_EXECUTION)
        duration_ms = _attrs(tool).get(sc.CC_TOOL_DURATION_MS)
        if duration_ms is None:
            assert executions == []
            continue
        (execution,) = executions
        assert execution.end_time == tool.end_time and execution.start_time is not None
        assert abs((execution.end_time - execution.start_time) - duration_ms * MS) <= MS
        assert tool.start_time is not None and execution.start_time >= tool.start_time
        durations.append(duration_ms / 1000)
    ran = [t for t in tools if _attrs(t)[sc.CC_TOOL_OUTCOME] in sc.RAN_OUTCOMES]  # calls that never ran: no time
    total, count = _histogram(metric_reader, sc.METRIC_TOOL_DURATION)
    assert count == len(ran)
    if len(durations) == len(ran):  # every call that ran reported duration_ms
        assert total == pytest.approx(sum(durations), abs=1e-6)


def test_an_interactive_write_waits_on_the_user_then_executes_for_duration_ms(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    entries = load_session("interactive")
    feed_fixture(LiveRun(tracer_provider, meter_provider), SESSIONS / "interactive", entries)
    spans = list(span_exporter.get_finished_spans())
    (tool,) = [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]
    (wait,) = _children(spans, tool, sc.SPAN_TYPE_PERMISSION_WAIT)
    (execution,) = _children(spans, tool, sc.SPAN_TYPE_TOOL_EXECUTION)
    request = next(e for e in entries if e["event"] == "PermissionRequest")
    post = next(e for e in entries if e["event"] == "PostToolUse")
    assert wait.name == sc.SPAN_TOOL_PERMISSION_WAIT and execution.name == sc.SPAN_TOOL_EXECUTION
    assert wait.start_time == to_ns(request["ts"]) and wait.end_time == execution.start_time
    assert _attrs(wait)[sc.CC_PERMISSION_DECISION] == sc.PERMISSION_GRANTED
    assert execution.end_time == tool.end_time == to_ns(post["ts"])
    assert execution.start_time is not None and execution.end_time is not None
    assert execution.end_time - execution.start_time == post["payload"]["duration_ms"] * MS
    # The histogram measures the 86 ms execution, not the 6.4 s the call spent mostly in the dialog.
    assert _histogram(metric_reader, sc.METRIC_TOOL_DURATION) == (pytest.approx(0.086), 1)
    assert wait.end_time is not None and wait.start_time is not None
    wait_total, wait_count = _histogram(metric_reader, sc.METRIC_PERMISSION_WAIT)
    assert wait_count == 1 and wait_total == pytest.approx((wait.end_time - wait.start_time) / 1e9)
    assert wait_total > 6.0


def test_a_refused_call_waits_but_never_executes_and_is_no_error(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    entries = [e for e in load_session("extras") if e["payload"]["session_id"].startswith("4bcae924")]
    assert "PermissionRequest" in [e["event"] for e in entries]
    feed_fixture(LiveRun(tracer_provider, meter_provider), SESSIONS / "extras", entries)
    spans = list(span_exporter.get_finished_spans())
    (tool,) = [s for s in spans if _attrs(s).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL]
    assert _attrs(tool)[sc.CC_TOOL_OUTCOME] == sc.OUTCOME_PERMISSION_DENIED
    assert tool.status.status_code is StatusCode.UNSET and sc.ERROR_TYPE not in _attrs(tool)
    (wait,) = _children(spans, tool, sc.SPAN_TYPE_PERMISSION_WAIT)
    assert _attrs(wait)[sc.CC_PERMISSION_DECISION] == sc.PERMISSION_DENIED and wait.end_time == tool.end_time
    assert _children(spans, tool, sc.SPAN_TYPE_TOOL_EXECUTION) == []
