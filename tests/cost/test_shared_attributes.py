"""Live and backfill build span attributes and metric labels with one builder: their series always agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import RECORDED_PROJECTS_DIR, SESSION_NAMES, load_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.driving import feed, make_processor

from cost.support import fixture_projects, memory_delivery
from otel_claude import semconv as sc
from otel_claude.backfill.run import run_backfill
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.live.span_factory import ProcessorSettings
from otel_claude.live.state import AgentState
from otel_claude.live.usage import TranscriptUsage
from otel_claude.transcripts.attributes import session_attributes
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.usage_metrics import UsageMetrics

USAGE_METRICS = (sc.METRIC_TOKENS, sc.METRIC_COST, sc.METRIC_LLM_CALLS, sc.METRIC_GEN_AI_TOKEN_USAGE)
Pipeline = tuple[TracerProvider, InMemorySpanExporter, MeterProvider, InMemoryMetricReader]


def _pipeline() -> Pipeline:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader


def _label_sets(reader: InMemoryMetricReader) -> dict[str, set[frozenset[tuple[str, Any]]]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, set[frozenset[tuple[str, Any]]]] = {name: set() for name in USAGE_METRICS}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name in found:
                    found[metric.name] |= {frozenset((p.attributes or {}).items()) for p in metric.data.data_points}
    return found


def _llm_spans(exporter: InMemorySpanExporter) -> dict[int, dict[str, Any]]:
    """Every chat span: answered calls read from transcript lines, calls only a cost-state line shows (/compact's
    summary) and failed API calls (no usage); by span id, their attributes, trace, times and status."""
    return {
        span.context.span_id: {
            **dict(span.attributes or {}),
            "trace": span.context.trace_id,
            "times": (span.start_time, span.end_time),
            "status": (span.status.status_code, span.status.description),
        }
        for span in exporter.get_finished_spans()
        if span.context is not None and (span.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_LLM
    }


def _live(projects: Path) -> tuple[dict[int, dict[str, Any]], dict[str, set[frozenset[tuple[str, Any]]]]]:
    tracer_provider, exporter, meter_provider, reader = _pipeline()
    state = AgentState()
    usage = TranscriptUsage(state, UsageMetrics(meter_provider.get_meter("test")), bundled_table(), settle_s=0.0)
    processor = make_processor(tracer_provider, meter_provider, ProcessorSettings(user_name="dev"), usage)
    processor.state = state
    for name in SESSION_NAMES:
        entries = load_session(name)
        for entry in entries:
            for key in ("transcript_path", "agent_transcript_path"):
                value = entry["payload"].get(key)
                if isinstance(value, str):
                    entry["payload"][key] = value.replace(RECORDED_PROJECTS_DIR, str(projects))
        feed(processor, entries)
    while state.settles:  # the settle re-reads after Stop, due at once with settle_s=0
        usage.run_due(processor.ctx)
    return _llm_spans(exporter), _label_sets(reader)


def test_live_and_backfill_make_the_same_llm_span_attributes_and_metric_labels(tmp_path: Path) -> None:
    projects = fixture_projects(tmp_path)
    live_spans, live_labels = _live(projects)
    _, exporter, meter_provider, reader = _pipeline()
    delivery = memory_delivery(exporter, meter_provider)
    run_backfill([str(projects)], delivery, str(tmp_path / "state"), False, user_name="dev")
    backfill_spans, backfill_labels = _llm_spans(exporter), _label_sets(reader)

    assert live_spans and set(live_spans) == set(backfill_spans)
    sources = [a.get(sc.CC_LLM_SOURCE) for a in backfill_spans.values()]
    assert sources.count(sc.LLM_SOURCE_COST_STATE) == 1, "/compact's summary, counted from its cost-state line"
    assert [a.get(sc.ERROR_TYPE) for a in backfill_spans.values()].count("invalid_request_error") == 1
    for span_id, attributes in backfill_spans.items():
        assert attributes.pop(sc.CC_BACKFILL) is True  # the one documented difference, on spans only
        assert attributes == live_spans[span_id]
    assert all(labels for labels in live_labels.values())
    assert live_labels == backfill_labels
    project_and_user = {(sc.CC_PROJECT, "project"), (sc.USER_NAME, "dev")}
    assert all(project_and_user <= labels for sets in live_labels.values() for labels in sets)


def test_the_builder_keeps_unbounded_values_off_metric_labels() -> None:
    built = session_attributes("s-1", "project", "dev", "claude-opus-4-6", backfill=True)
    assert dict(built.metric) == {sc.CC_PROJECT: "project", sc.USER_NAME: "dev"}
    assert built.span[sc.SESSION_ID] == built.span[sc.GEN_AI_CONVERSATION_ID] == "s-1"
    assert built.span[sc.GEN_AI_REQUEST_MODEL] == "claude-opus-4-6" and built.span[sc.CC_BACKFILL] is True
    assert sc.USER_NAME not in built.span  # a resource attribute already
    bare = session_attributes("s-2", None)
    assert dict(bare.metric) == {} and sc.CC_PROJECT not in bare.span and sc.CC_BACKFILL not in bare.span


def test_backfilled_chat_spans_cover_their_message_first_to_last_line(tmp_path: Path) -> None:
    """As live (issue 10): a response is written one line per content block; its span ends at the last of them."""
    from support.live_usage import message_line_times

    projects = fixture_projects(tmp_path)
    _, exporter, meter_provider, _ = _pipeline()
    run_backfill([str(projects)], memory_delivery(exporter, meter_provider), str(tmp_path / "state"), False)
    lines = message_line_times(sorted(projects.rglob("*.jsonl")))
    chats = [s for s in exporter.get_finished_spans() if (s.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_LLM]
    assert chats
    several = 0
    read = [c for c in chats if sc.GEN_AI_RESPONSE_ID in (c.attributes or {})]  # not failed or cost-state calls
    assert len(read) == len(chats) - 2
    for chat in read:
        first, last = lines[str((chat.attributes or {})[sc.GEN_AI_RESPONSE_ID])]
        assert chat.end_time == last and chat.start_time is not None and chat.start_time <= first
        several += first != last
    assert several, "no fixture response spans several lines: the test would not tell"
