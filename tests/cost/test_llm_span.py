"""LLM-call spans: names, kind, parent, times and the GenAI attributes."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from cost.support import MAIN_TRANSCRIPT
from otel_claude import semconv as sc
from otel_claude.export import ids
from otel_claude.export.span_emitter import emit
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.llm_calls import build_llm_span, llm_span_id, turn_cost_attributes
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor, read_all_new

SESSION = "c77f9869-7342-4145-9251-6b7551d2e158"


def test_spans_for_the_fixture_turn(tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter) -> None:
    table = bundled_table()
    calls = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT)), Dedup()).calls
    trace_id = ids.trace_id_for("turn", SESSION, "885d4206-7a06-45db-9c35-f3203cd23b09")
    turn_span = ids.span_id_for("turn", SESSION)
    common = {sc.SESSION_ID: SESSION, sc.GEN_AI_CONVERSATION_ID: SESSION, sc.CC_PROJECT: "project"}
    tracer = tracer_provider.get_tracer("test")
    for call in calls:
        emit(
            tracer,
            build_llm_span(
                call,
                cost_of_call(call.usage, call.model, call.timestamp_ns, table),
                trace_id,
                turn_span,
                common,
                table.version,
            ),
        )
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 7
    first = spans[0]
    assert first.name == "chat claude-opus-5-5" and first.kind is SpanKind.CLIENT
    assert first.context is not None and first.context.trace_id == trace_id
    assert first.parent is not None and first.parent.span_id == turn_span
    assert first.start_time is not None and first.end_time is not None
    assert first.end_time - first.start_time == 6_000_000
    attrs = dict(first.attributes or {})
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "chat" and attrs[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == attrs[sc.GEN_AI_RESPONSE_MODEL] == "claude-opus-5-5"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == "msg_0184d8a7e5ba5179467c7eca"
    assert attrs[sc.CC_REQUEST_ID] == "req_fake_fa89d77ccbc34a83a544"
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2496 + 9668  # uncached + cache writes (+ reads: 0)
    assert attrs[sc.CC_UNCACHED_INPUT_TOKENS] == 2496
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 41
    assert attrs[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 9668
    assert attrs[sc.CC_CACHE_CREATION_1H_TOKENS] == 9668 and attrs[sc.CC_CACHE_CREATION_5M_TOKENS] == 0
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 0
    assert attrs[sc.CC_COST_USD] == (2496 * 4 + 41 * 20 + 9668 * 8) / 1e6
    assert attrs[sc.CC_COST_KNOWN] is True and attrs[sc.CC_COST_TIER] == "standard"
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert attrs[sc.CC_PROMPT_ID] == "885d4206-7a06-45db-9c35-f3203cd23b09"
    assert attrs[sc.SESSION_ID] == SESSION and attrs[sc.CC_PROJECT] == "project"
    assert attrs[sc.CC_PRICE_TABLE] == table.version
    assert len({s.context.span_id for s in spans if s.context}) == 7


def test_span_id_is_stable_across_reads() -> None:
    first = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT))).calls
    second = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT))).calls
    assert [llm_span_id(c) for c in first] == [llm_span_id(c) for c in second]
    # the two lines of one response give the same span id: a re-read never makes a second span
    assert llm_span_id(first[0]) == llm_span_id(first[1])
    assert llm_span_id(first[0]) == ids.span_id_for(
        "llm", "msg_0184d8a7e5ba5179467c7eca", "req_fake_fa89d77ccbc34a83a544"
    )


def test_subagent_call_and_unknown_model_attributes() -> None:
    path = MAIN_TRANSCRIPT.with_suffix("") / "subagents" / "agent-ae0930d159505e5e8.jsonl"
    call = read_all_new(Cursor(path=str(path))).calls[0]
    from dataclasses import replace

    unknown = replace(call, model="claude-nova-9", requested_model=None)
    table = bundled_table()
    span = build_llm_span(unknown, cost_of_call(unknown.usage, unknown.model, unknown.timestamp_ns, table), 1, 2, {})
    assert span.name == "chat claude-nova-9"
    assert span.attributes[sc.CC_AGENT_KIND] == "subagent"
    assert span.attributes[sc.GEN_AI_AGENT_ID] == "ae0930d159505e5e8"
    assert span.attributes[sc.CC_COST_KNOWN] is False and span.attributes[sc.CC_COST_USD] == 0.0
    assert span.attributes[sc.CC_COST_TIER] == "unknown_model"


def test_turn_end_carries_both_costs() -> None:
    assert turn_cost_attributes(0.2098892, 0.1976676) == {
        sc.CC_REPORTED_COST_USD: 0.2098892,
        sc.CC_SESSION_COST_USD: 0.1976676,
    }
    assert turn_cost_attributes(None, 0.5) == {sc.CC_SESSION_COST_USD: 0.5}


def test_backfill_builds_the_readable_span_the_live_path_makes() -> None:
    """backfill/spans.py makes the ReadableSpan in one step; it must be `readable_span(build_llm_span(...))`."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from otel_claude.backfill.run import discover
    from otel_claude.backfill.spans import LlmSpans
    from otel_claude.export.readable import readable_span
    from otel_claude.transcripts.attributes import session_attributes
    from otel_claude.transcripts.llm_calls import turn_trace_id

    table, resource, scope = bundled_table(), Resource.create({"service.name": "t"}), InstrumentationScope("s", "1")
    make = LlmSpans(resource, scope, table.version)
    root = MAIN_TRANSCRIPT.parents[3]
    calls = [c for path in discover([str(root)]) for c in read_all_new(Cursor(path=path), Dedup()).calls]
    assert len(calls) > 20 and any(c.stop_reason for c in calls) and any(c.agent_id for c in calls)
    for call in calls:
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, table)
        common = session_attributes(call.session_id, "project", "dev", backfill=True).span
        trace_id = turn_trace_id(call.session_id, call.prompt_id)
        expected = readable_span(build_llm_span(call, cost, trace_id, None, common, table.version), resource, scope)
        made = make(call, cost, common)
        assert made.to_json() == expected.to_json()
        assert dict(made.attributes or {}) == dict(expected.attributes or {})
        assert (made.resource, made.instrumentation_scope) == (expected.resource, expected.instrumentation_scope)
