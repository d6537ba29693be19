"""Within a batch of records the agent looks at each transcript once (TranscriptUsage.begin_batch): the lines written
before the batch was taken are read at its first look, later ones by the next batch; outside a batch, every event
looks."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from cost.support import MAIN_TRANSCRIPT
from otel_claude.live.events import parse_hook_input
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState, Session
from otel_claude.live.usage import TranscriptUsage
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.usage_metrics import UsageMetrics

SESSION = "c77f9869-7342-4145-9251-6b7551d2e158"


class _Run:
    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter("t")
        self.state = AgentState()
        self.usage = TranscriptUsage(self.state, UsageMetrics(meter), bundled_table(), settle_s=60.0)
        self.ctx = SpanFactory(tracer_provider.get_tracer("t"), HookMetrics(meter), ProcessorSettings())

    def event(self, path: Path) -> None:
        session = Session(session_id=SESSION, transcript_path=str(path))
        payload = {"hook_event_name": "Notification", "session_id": SESSION, "transcript_path": str(path)}
        self.usage.after_event(self.ctx, session, parse_hook_input(payload), 0)

    def offset(self, path: Path) -> object:
        return self.state.transcripts[str(path)].cursor.get("offset")


def test_a_batch_looks_at_a_transcript_once_and_the_next_batch_reads_what_came_since(
    tmp_path: Path, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> None:
    lines = MAIN_TRANSCRIPT.read_bytes().splitlines(keepends=True)
    transcript = tmp_path / f"{SESSION}.jsonl"
    transcript.write_bytes(b"".join(lines[:10]))
    run = _Run(tracer_provider, meter_provider)
    run.usage.begin_batch()
    run.event(transcript)
    first = transcript.stat().st_size
    assert run.offset(transcript) == first
    with transcript.open("ab") as handle:  # written after the batch was taken
        handle.writelines(lines[10:])
    run.event(transcript)
    assert run.offset(transcript) == first
    run.usage.end_batch()
    run.event(transcript)  # outside a batch: every event looks
    assert run.offset(transcript) == transcript.stat().st_size
    run.usage.begin_batch()
    with transcript.open("ab") as handle:
        handle.writelines(lines[:2])
    run.event(transcript)  # the next batch's first look reads what came since
    assert run.offset(transcript) == transcript.stat().st_size


def test_a_transcript_evicted_and_followed_again_within_a_batch_is_read_again(
    tmp_path: Path, tracer_provider: TracerProvider, meter_provider: MeterProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_claude.live import usage as usage_module

    monkeypatch.setattr(usage_module, "MAX_TRANSCRIPTS", 1)
    first, other = tmp_path / f"{SESSION}.jsonl", tmp_path / "other.jsonl"
    first.write_bytes(MAIN_TRANSCRIPT.read_bytes())
    other.write_bytes(b"")
    run = _Run(tracer_provider, meter_provider)
    run.usage.begin_batch()
    run.event(first)
    run.event(other)
    assert str(first) not in run.state.transcripts
    run.event(first)  # a new entry with an empty cursor: read, not taken for the one read before its eviction
    assert run.offset(first) == first.stat().st_size
