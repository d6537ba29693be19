"""An Esc the transcript shows before its turn or tool call opened (a replay reads whole transcripts): kept for that
turn or call, bounded, and consumed when it ends, whichever way it ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.live_usage import LiveRun

from otel_claude import semconv as sc
from otel_claude.live import transcript_notices
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import Session, TranscriptState
from otel_claude.transcripts.model import Interrupt

SESSION = "11111111-2222-4333-8444-555555555555"
SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND


def _ahead(session: Session, count: int, first: int = 0) -> None:
    notices = [Interrupt((f"toolu_{i}",), T0 + i, i, f"prompt-{i}") for i in range(first, first + count)]
    transcript_notices.apply(cast(SpanFactory, None), TranscriptState(session_id=SESSION), session, notices)


def test_a_replay_keeps_the_first_esc_times_it_reads_within_the_bound() -> None:
    session = Session(session_id=SESSION)
    limit = transcript_notices.MAX_INTERRUPTS
    _ahead(session, limit)  # a prompt and a tool call each: the first half of the bound's worth of Esc lines
    _ahead(session, limit, first=limit)
    assert len(session.interrupts) == limit
    assert "prompt-0" in session.interrupts and "toolu_0" in session.interrupts, "the first needed are kept"
    session.closed_prompts.append("prompt-0")  # ended with their entries left (e.g. never opened): they go first
    session.closed_tools.append("toolu_0")
    _ahead(session, 1, first=2 * limit)
    assert "prompt-0" not in session.interrupts and "toolu_0" not in session.interrupts
    assert {f"prompt-{2 * limit}", f"toolu_{2 * limit}"} <= set(session.interrupts)
    assert len(session.interrupts) == limit


def _iso(ns: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_a_prompt_id_that_goes_on_after_its_esc_is_not_ended_at_the_esc(tmp_path: Path) -> None:
    """The transcript, read whole at the first prompt, shows an Esc for prompt P; a later UserPromptSubmit with the
    same id (a background task's notification) goes on with P's turn after it. The turn then does not end at the
    Esc (before its own later events): it ends with the next prompt, unfinished."""
    transcript = tmp_path / f"{SESSION}.jsonl"
    stopped = {"type": "text", "text": "[Request interrupted by user]"}
    lines: list[dict[str, Any]] = [
        {"promptId": "P", "type": "user", "message": {"role": "user", "content": "hi"}, "timestamp": _iso(T0 + SECOND)},
        {
            "promptId": "P",
            "type": "user",
            "message": {"role": "user", "content": [stopped]},
            "timestamp": _iso(T0 + 2 * SECOND),
            "interruptedMessageId": "msg_x",
            "sessionId": SESSION,
        },
    ]
    transcript.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines), encoding="utf-8")
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    run = LiveRun(tracer_provider, MeterProvider())
    base = {"session_id": SESSION, "transcript_path": str(transcript), "cwd": "/tmp"}
    run.handle({**base, "hook_event_name": "SessionStart", "source": "startup"}, T0)
    run.handle({**base, "hook_event_name": "UserPromptSubmit", "prompt": "hi", "prompt_id": "P"}, T0 + SECOND)
    run.handle({**base, "hook_event_name": "UserPromptSubmit", "prompt": "task", "prompt_id": "P"}, T0 + 5 * SECOND)
    run.handle({**base, "hook_event_name": "UserPromptSubmit", "prompt": "next", "prompt_id": "P2"}, T0 + 9 * SECOND)
    run.handle({**base, "hook_event_name": "SessionEnd", "reason": "other"}, T0 + 10 * SECOND)
    run.settle()
    turns = [s for s in exporter.get_finished_spans() if (s.attributes or {}).get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TURN]
    (turn,) = [t for t in turns if (t.attributes or {}).get(sc.CC_PROMPT_ID) == "P"]
    assert (turn.attributes or {})[sc.CC_TURN_OUTCOME] == sc.TURN_UNFINISHED
    assert turn.end_time == T0 + 9 * SECOND
    assert all(event.timestamp <= turn.end_time for event in turn.events)
