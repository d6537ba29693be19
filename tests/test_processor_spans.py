"""The span tree each fixture session yields, checked against what the fixture's hook events say."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from conftest import SESSION_NAMES, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from support.driving import feed, make_processor

from otel_claude import semconv as sc
from otel_claude.cli.replay import to_ns
from otel_claude.live.error_classes import classify_tool_error
from otel_claude.live.span_factory import ProcessorSettings

TOOL_END_EVENTS = ("PostToolUse", "PostToolUseFailure", "PermissionDenied")


def run_session(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, exporter: InMemorySpanExporter
) -> list[ReadableSpan]:
    processor = make_processor(tracer_provider, meter_provider)
    feed(processor, load_session(name))
    assert processor.state.sessions == {}, "every fixture session ends with SessionEnd: no state may remain"
    return list(exporter.get_finished_spans())


def tool_spans(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    result: dict[str, ReadableSpan] = {}
    for span in spans:
        if span.attributes and span.attributes.get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TOOL:
            call_id = str(span.attributes[sc.GEN_AI_TOOL_CALL_ID])
            assert call_id not in result, f"two spans for {call_id}"
            result[call_id] = span
    return result


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_one_span_per_tool_use_id_with_name_times_and_outcome(
    name: str,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    entries = load_session(name)
    spans = run_session(name, tracer_provider, meter_provider, span_exporter)
    by_call = tool_spans(spans)
    pre = {e["payload"]["tool_use_id"]: e for e in entries if e["event"] == "PreToolUse"}
    assert set(by_call) == set(pre)
    ends = {e["payload"]["tool_use_id"]: e for e in entries if e["event"] in TOOL_END_EVENTS}
    for call_id, span in by_call.items():
        assert span.name == f"execute_tool {pre[call_id]['payload']['tool_name']}"
        assert span.start_time == to_ns(pre[call_id]["ts"])
        attributes = span.attributes or {}
        end = ends.get(call_id)
        if end is None:  # never ended: closed by its batch or turn, and marked
            assert attributes[sc.CC_TOOL_OUTCOME] in (sc.OUTCOME_PERMISSION_DENIED, sc.OUTCOME_UNFINISHED)
            continue
        assert span.end_time == to_ns(end["ts"])
        expected = {
            "PostToolUse": sc.OUTCOME_SUCCESS,
            "PostToolUseFailure": sc.OUTCOME_INTERRUPTED if end["payload"].get("is_interrupt") else sc.OUTCOME_ERROR,
            "PermissionDenied": sc.OUTCOME_PERMISSION_DENIED,
        }[end["event"]]
        assert attributes[sc.CC_TOOL_OUTCOME] == expected
        if end["event"] == "PostToolUseFailure":
            assert span.status.status_code is StatusCode.ERROR
            # A fixed phrase per error class, never the error's words (capture is off here).
            failure = classify_tool_error(end["payload"]["error"], bool(end["payload"].get("is_interrupt")))
            assert span.status.description == failure.description
            assert attributes[sc.ERROR_TYPE] == failure.error_type
            assert sc.CC_TOOL_ERROR not in attributes
        else:
            assert span.status.status_code is StatusCode.UNSET
        if "duration_ms" in end["payload"]:
            assert attributes[sc.CC_TOOL_DURATION_MS] == end["payload"]["duration_ms"]


def _by_span_id(spans: list[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in spans if span.context}


def test_subagent_nests_under_agent_tool_and_its_bash_call_under_it(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    spans = run_session("main", tracer_provider, meter_provider, span_exporter)
    index = _by_span_id(spans)
    by_call = tool_spans(spans)
    agent_call = by_call["toolu_010b6b0ee20108c52fcad005"]
    inner_bash = by_call["toolu_01cd4011400ec35288d2792c"]
    assert inner_bash.parent is not None
    subagent = index[inner_bash.parent.span_id]
    assert subagent.name == "invoke_agent general-purpose"
    assert (subagent.attributes or {})[sc.GEN_AI_AGENT_ID] == "ae0930d159505e5e8"
    assert subagent.parent is not None and subagent.parent.span_id == agent_call.context.span_id
    assert agent_call.parent is not None
    turn = index[agent_call.parent.span_id]
    assert turn.name == "invoke_agent claude-code" and turn.parent is None
    assert {s.context.trace_id for s in (turn, agent_call, subagent, inner_bash)} == {turn.context.trace_id}


def test_background_subagent_outlives_its_agent_call_and_still_nests(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    spans = run_session("extras", tracer_provider, meter_provider, span_exporter)
    by_call = tool_spans(spans)
    agent_call = by_call["toolu_012d7d72bff05d859865d4e8"]
    inner = by_call["toolu_0186bc4541e89578a52b72dd"]
    subagent = _by_span_id(spans)[inner.parent.span_id]  # type: ignore[union-attr]
    assert subagent.parent is not None and subagent.parent.span_id == agent_call.context.span_id
    assert (agent_call.attributes or {})[sc.CC_SUBAGENT_BACKGROUND] is True
    assert subagent.end_time is not None and agent_call.end_time is not None
    assert subagent.end_time > agent_call.end_time, "a background subagent outlives its Agent tool call"


def test_turns_are_traces_linked_to_their_session_run(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    entries = load_session("extras")
    spans = run_session("extras", tracer_provider, meter_provider, span_exporter)
    turns = [s for s in spans if (s.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TURN]
    prompts = {e["payload"]["prompt_id"] for e in entries if e["event"] == "UserPromptSubmit"}
    assert {(t.attributes or {})[sc.CC_PROMPT_ID] for t in turns} == prompts
    runs = {s.context.span_id for s in spans if s.name == sc.SPAN_SESSION}
    assert len(runs) == Counter(e["event"] for e in entries)["SessionStart"]
    for turn in turns:
        assert turn.parent is None
        assert [link.context.span_id for link in turn.links] and turn.links[0].context.span_id in runs
    failed = [t for t in turns if (t.attributes or {})[sc.CC_TURN_OUTCOME] == sc.TURN_FAILED]
    assert len(failed) == 1 and failed[0].status.status_code is StatusCode.ERROR
    assert (failed[0].attributes or {})[sc.ERROR_TYPE] == "invalid_request"


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_every_hook_event_is_accounted_for(
    name: str,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    """Each event type in the fixture shows up as a span, a span event, or the span it ends or starts."""
    entries = load_session(name)
    spans = run_session(name, tracer_provider, meter_provider, span_exporter)
    span_events = Counter(event.name for span in spans for event in span.events)
    span_kinds = Counter(str((span.attributes or {}).get(sc.CC_SPAN_TYPE)) for span in spans)
    shaping = {
        "SessionStart": sc.SPAN_TYPE_SESSION, "SessionEnd": sc.SPAN_TYPE_SESSION,
        "UserPromptSubmit": sc.SPAN_TYPE_TURN, "Stop": sc.SPAN_TYPE_TURN, "StopFailure": sc.SPAN_TYPE_TURN,
        "PreToolUse": sc.SPAN_TYPE_TOOL, "PostToolUse": sc.SPAN_TYPE_TOOL, "PostToolUseFailure": sc.SPAN_TYPE_TOOL,
        "PermissionDenied": sc.SPAN_TYPE_TOOL, "SubagentStart": sc.SPAN_TYPE_SUBAGENT,
        "SubagentStop": sc.SPAN_TYPE_SUBAGENT, "PreCompact": sc.SPAN_TYPE_COMPACTION,
    }  # fmt: skip
    for event in {e["event"] for e in entries}:
        if event in shaping:
            assert span_kinds[shaping[event]] > 0, f"{event} produced no {shaping[event]} span"
        elif event == "PermissionRequest":
            assert span_events["permission_request"] > 0
        else:
            assert span_events[event] > 0, f"{event} appears on no span"
    counted = _hook_event_counts(metric_reader)
    assert counted == Counter(e["event"] for e in entries)


def _hook_event_counts(reader: InMemoryMetricReader) -> Counter[str]:
    data = reader.get_metrics_data()
    counts: Counter[str] = Counter()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == sc.METRIC_HOOK_EVENTS:
                    for point in metric.data.data_points:
                        counts[str(point.attributes[sc.CC_HOOK_EVENT])] += int(point.value)  # type: ignore[union-attr,index]
    return counts


def test_ids_are_deterministic_across_runs(
    meter_provider: MeterProvider,
) -> None:
    runs: list[set[tuple[int, int]]] = []
    for _ in range(2):
        exporter = InMemorySpanExporter()
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        from otel_claude.export.id_generator import DeterministicIdGenerator

        provider = TracerProvider(id_generator=DeterministicIdGenerator())
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        feed(make_processor(provider, meter_provider), load_session("main"))
        runs.append({(s.context.trace_id, s.context.span_id) for s in exporter.get_finished_spans()})
    assert runs[0] == runs[1] and len(runs[0]) > 10


def test_content_is_not_exported_by_default_and_is_with_capture_on(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    feed(make_processor(tracer_provider, meter_provider), load_session("main"))
    text = repr([dict(s.attributes or {}) for s in span_exporter.get_finished_spans()])
    assert "Run the scripted scenario." not in text
    assert "echo hi" not in text and "hello from the fake model" not in text
    span_exporter.clear()
    settings = ProcessorSettings(capture_content=True, user_name="dev")
    feed(make_processor(tracer_provider, meter_provider, settings), load_session("main"))
    text = repr([dict(s.attributes or {}) for s in span_exporter.get_finished_spans()])
    assert "Run the scripted scenario." in text and "echo hi" in text


def test_unfinished_calls_are_closed_at_turn_end_and_marked(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    base: dict[str, Any] = {"session_id": "s1", "cwd": "/w/proj", "prompt_id": "p1"}
    entries = [
        {"ts": "2026-01-01T00:00:00+00:00", "payload": {**base, "hook_event_name": "UserPromptSubmit", "prompt": "x"}},
        {"ts": "2026-01-01T00:00:01+00:00", "payload": {
            **base, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "t1", "tool_input": {}}},
        {"ts": "2026-01-01T00:00:05+00:00", "payload": {**base, "hook_event_name": "Stop"}},
    ]  # fmt: skip
    feed(make_processor(tracer_provider, meter_provider), entries)
    (call,) = tool_spans(list(span_exporter.get_finished_spans())).values()
    attributes = call.attributes or {}
    assert attributes[sc.CC_TOOL_OUTCOME] == sc.OUTCOME_UNFINISHED and attributes[sc.CC_UNFINISHED] is True
    assert attributes[sc.CC_CLOSED_BY] == "Stop"
    assert call.end_time == to_ns("2026-01-01T00:00:05+00:00")


def test_span_events_name_the_fields_their_payload_carried(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    entries = load_session("main")
    feed(make_processor(tracer_provider, meter_provider), entries)
    batch_events = [
        event for span in span_exporter.get_finished_spans() for event in span.events if event.name == "PostToolBatch"
    ]
    carried = [
        sorted(k for k, v in e["payload"].items() if v is not None) for e in entries if e["event"] == "PostToolBatch"
    ]
    assert sorted(list((event.attributes or {})[sc.CC_EVENT_FIELDS]) for event in batch_events) == sorted(carried)  # type: ignore[arg-type]
