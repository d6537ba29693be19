"""What a transcript shows beside the LLM calls, applied to the session: failed API requests (a `chat` span with
the error), tool calls Claude Code refused, and turns and tool calls the user stopped (Esc fires no hook). An Esc
read before its turn or call opened (a replay or a backlog reads whole transcripts) is kept for when that turn or
call would close unfinished (lifecycle.end_turn, tool_calls.close_open_calls)."""

from __future__ import annotations

from collections.abc import Iterable

from otel_claude import semconv as sc
from otel_claude.live import lifecycle, nesting, settling, tool_calls
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import RefusedToolCall, Session, TranscriptState
from otel_claude.transcripts.model import ApiError, Interrupt, RefusedCall

MAX_INTERRUPTS = 256  # Esc times kept for turns and calls not open yet (Session.interrupts), per session


def apply(
    ctx: SpanFactory,
    entry: TranscriptState,
    session: Session | None,
    notices: Iterable[Interrupt | ApiError | RefusedCall],
) -> None:
    """Applies the notices one read of `entry`'s transcript found, in file order."""
    for notice in notices:
        if isinstance(notice, ApiError):
            trace_id, parent = nesting.for_llm_call(
                entry.session_id,
                session,
                agent_id=notice.agent_id or entry.agent_id,
                agent_trace_id=entry.trace_id,
                prompt_id=notice.prompt_id,
            )
            settling.emit_api_error(ctx, entry, notice, trace_id, parent, session.model if session else None)
        elif isinstance(notice, RefusedCall):
            if session is not None and not entry.agent_id:
                refused = RefusedToolCall(
                    tool_use_id=notice.tool_use_id,
                    tool_name=notice.tool_name,
                    start_ns=notice.start_ns,
                    end_ns=notice.timestamp_ns,
                    reason=notice.reason,
                    prompt_id=notice.prompt_id,
                )
                tool_calls.note_refused(session, refused)
        elif session is not None:
            ahead = [i for i in notice.tool_use_ids if i not in session.tools and i not in session.closed_tools]
            tool_calls.interrupted(ctx, session, notice.tool_use_ids, notice.timestamp_ns)
            if session.turn is not None and notice.prompt_id == session.turn.prompt_key:
                # Claude Code stops and waits for the user: the turn ended here, not at the next prompt.
                end_ns = max(notice.timestamp_ns, session.turn.span.start_ns)
                lifecycle.end_turn(ctx, session, end_ns, sc.TURN_INTERRUPTED, closed_by=tool_calls.TRANSCRIPT)
            elif notice.prompt_id and notice.prompt_id not in session.closed_prompts:
                ahead.append(notice.prompt_id)  # its turn has not opened yet: the transcript was read ahead
            for key in ahead:
                _remember_interrupt(session, key, notice.timestamp_ns)
    if session is not None and session.refused:
        tool_calls.flush_refused(ctx, session)


def _remember_interrupt(session: Session, key: str, at_ns: int) -> None:
    """Kept until its turn or call ends (lifecycle.end_turn, tool_calls.end_tool_call). At the bound, entries whose
    turn or call has ended go first; if none has, the new one is not kept: a replay reads every Esc of a session
    ahead, and the first of them are the first needed (a call past the bound then closes unfinished, as before)."""
    if key not in session.interrupts and len(session.interrupts) >= MAX_INTERRUPTS:
        closed = set(session.closed_prompts) | set(session.closed_tools)
        for stale in [k for k in session.interrupts if k in closed]:
            del session.interrupts[stale]
        if len(session.interrupts) >= MAX_INTERRUPTS:
            return
    session.interrupts[key] = at_ns
