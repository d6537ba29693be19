"""The agent's transcript reading keeps cursor and dedup in memory between events; the snapshot still has them."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cost.support import MAIN_TRANSCRIPT
from otel_claude import semconv as sc
from otel_claude.live.events import parse_hook_input
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState, Session
from otel_claude.live.usage import TranscriptUsage
from otel_claude.transcripts import dedup as dedup_module
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.usage_metrics import UsageMetrics

SESSION = "c77f9869-7342-4145-9251-6b7551d2e158"
MAIN_CALLS = 7


def _llm_spans(exporter: InMemorySpanExporter) -> list[str]:
    return [
        str((s.attributes or {}).get(sc.GEN_AI_RESPONSE_ID))
        for s in exporter.get_finished_spans()
        # Calls read from transcript lines; a call counted from a cost-state line (e.g. /compact's) has no response id.
        if (s.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_LLM
        and sc.CC_LLM_SOURCE not in (s.attributes or {})
    ]


def _usage(state: AgentState, meter_provider: MeterProvider) -> TranscriptUsage:
    return TranscriptUsage(state, UsageMetrics(meter_provider.get_meter("t")), bundled_table(), settle_s=0.0)


def test_reads_keep_cursor_and_dedup_in_memory_and_a_restart_continues_from_the_snapshot(
    tmp_path: Path,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = MAIN_TRANSCRIPT.read_bytes().splitlines(keepends=True)
    transcript = tmp_path / f"{SESSION}.jsonl"
    half = len(lines) // 2
    transcript.write_bytes(b"".join(lines[:half]))
    rebuilt: list[int] = []
    original = dedup_module.Dedup.from_dict.__func__  # type: ignore[attr-defined]

    def counting_from_dict(cls: type[dedup_module.Dedup], *args: object, **kwargs: object) -> dedup_module.Dedup:
        rebuilt.append(1)
        return original(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(dedup_module.Dedup, "from_dict", classmethod(counting_from_dict))
    ctx = SpanFactory(tracer_provider.get_tracer("t"), HookMetrics(meter_provider.get_meter("t")), ProcessorSettings())
    state = AgentState()
    session = Session(session_id=SESSION, project="project", transcript_path=str(transcript))
    event = parse_hook_input(
        {"hook_event_name": "Stop", "session_id": SESSION, "transcript_path": str(transcript), "cwd": "/home/dev/x"}
    )
    usage = _usage(state, meter_provider)
    for _ in range(3):
        usage.after_event(ctx, session, event, 0)
    first = _llm_spans(span_exporter)
    assert 0 < len(first) < MAIN_CALLS
    with transcript.open("ab") as handle:
        handle.write(b"".join(lines[half:]))
    for _ in range(3):
        usage.after_event(ctx, session, event, 0)
    assert sorted(_llm_spans(span_exporter)) == sorted(set(_llm_spans(span_exporter)))
    assert len(_llm_spans(span_exporter)) == MAIN_CALLS
    assert len(rebuilt) == 1  # built once from the (empty) snapshot entry, then kept in memory
    entry = state.transcripts[str(transcript)]
    assert entry.cursor["offset"] == transcript.stat().st_size and entry.dedup["entries"]

    # A restarted agent loads the snapshot: the last response written again (a repeat line) is not counted twice.
    restarted = _usage(AgentState.model_validate_json(state.model_dump_json()), meter_provider)
    last_assistant = next(line for line in reversed(lines) if b'"usage"' in line)
    with transcript.open("ab") as handle:
        handle.write(last_assistant)
    span_exporter.clear()
    restarted.after_event(ctx, session, event, 0)
    assert _llm_spans(span_exporter) == []
    assert len(rebuilt) == 2


def test_followed_transcripts_stay_bounded_and_their_readers_go_with_them(
    tmp_path: Path, tracer_provider: TracerProvider, meter_provider: MeterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_claude.live import usage as usage_module

    monkeypatch.setattr(usage_module, "MAX_TRANSCRIPTS", 2)
    clock = iter(range(1, 1000))
    state = AgentState()
    usage = TranscriptUsage(
        state, UsageMetrics(meter_provider.get_meter("t")), bundled_table(), 0.0, wall_clock_ns=lambda: next(clock)
    )
    ctx = SpanFactory(tracer_provider.get_tracer("t"), HookMetrics(meter_provider.get_meter("t")), ProcessorSettings())
    paths = []
    for index in range(4):
        path = tmp_path / f"{index}.jsonl"
        path.write_bytes(MAIN_TRANSCRIPT.read_bytes())
        paths.append(str(path))
        session = Session(session_id=f"s{index}", transcript_path=str(path))
        event = parse_hook_input({"hook_event_name": "Stop", "session_id": f"s{index}", "transcript_path": str(path)})
        usage.after_event(ctx, session, event, 0)
    assert list(state.transcripts) == paths[2:]
    assert set(usage._live) == set(paths[2:])


def test_a_transcript_evicted_before_its_settle_read_gives_out_its_held_calls(
    tmp_path: Path,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backlog follows more transcripts between two settle reads than the bound keeps: the last call of an evicted
    transcript (held for a line that will never come) leaves with the eviction instead of being lost."""
    from otel_claude.live import usage as usage_module

    monkeypatch.setattr(usage_module, "MAX_TRANSCRIPTS", 1)
    lines = MAIN_TRANSCRIPT.read_bytes().splitlines(keepends=True)
    transcript = tmp_path / f"{SESSION}.jsonl"
    transcript.write_bytes(b"".join(lines[:29]))  # ends with a response: its last line may still follow
    ctx = SpanFactory(tracer_provider.get_tracer("t"), HookMetrics(meter_provider.get_meter("t")), ProcessorSettings())
    state = AgentState()
    usage = TranscriptUsage(state, UsageMetrics(meter_provider.get_meter("t")), bundled_table(), settle_s=60.0)
    session = Session(session_id=SESSION, project="project", transcript_path=str(transcript))
    event = {"hook_event_name": "UserPromptSubmit", "session_id": SESSION, "cwd": "/home/dev/x"}
    usage.after_event(ctx, session, parse_hook_input({**event, "transcript_path": str(transcript)}), 0)
    pending = len(state.transcripts[str(transcript)].pending)
    assert pending  # the last response waits for its settle read, 60 s away
    emitted = len(_llm_spans(span_exporter))

    other = tmp_path / "other.jsonl"
    other.write_bytes(b"")
    usage.after_event(ctx, session, parse_hook_input({**event, "transcript_path": str(other)}), 0)
    assert str(transcript) not in state.transcripts  # evicted: the bound is one transcript
    assert len(_llm_spans(span_exporter)) == emitted + pending
