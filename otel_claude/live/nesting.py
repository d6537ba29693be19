"""Where every live span sits: each span kind's id recipe and each "find my parent" lookup, in one place.

Ids are hashes of Claude Code's own ids (export/ids.py does the hashing), so a record processed twice after a
crash yields the same span; the kind string keeps the ids of different span kinds apart. A placement is the
(trace id, parent span id) a new span takes; a parent may have ended already, since children name it by id.
The LLM-call span id and the backfill's turn trace are in transcripts/llm_calls.py (shared with backfill, which
never imports live); the turn recipe here is the same one, so live and backfilled calls land in the same trace.
"""

from __future__ import annotations

from otel_claude.export import ids
from otel_claude.live.state import OpenSpan, Session
from otel_claude.transcripts import llm_calls
from otel_claude.transcripts.model import LlmCall

Placement = tuple[int, int | None]  # (trace id, parent span id); None: a root span

_SESSION = "session"
_TURN = "turn"
_TOOL = "tool"
_SUBAGENT = "subagent"
_COMPACTION = "compaction"


# --- id recipes ---------------------------------------------------------------------------------------------
def session_trace_id(session_id: str) -> int:
    """The session's own trace: its runs (SessionStart..SessionEnd) and whatever has no turn to sit in."""
    return ids.trace_id_for(_SESSION, session_id)


def session_run_span_id(session_id: str, start_ns: int) -> int:
    # A resumed session has several runs: the start time tells them apart.
    return ids.span_id_for(_SESSION, session_id, str(start_ns))


def turn_trace_id(session_id: str, prompt_key: str) -> int:
    """One trace per turn: the backfill's recipe, so live and backfilled calls of a turn share a trace."""
    return llm_calls.turn_trace_id(session_id, prompt_key)


def turn_span_id(session_id: str, prompt_key: str) -> int:
    return ids.span_id_for(_TURN, session_id, prompt_key)


def llm_span_id(call: LlmCall) -> int:
    """From message id and request id (the dedup key): the backfill's recipe too."""
    return llm_calls.llm_span_id(call)


def tool_span_id(session_id: str, tool_use_id: str) -> int:
    return ids.span_id_for(_TOOL, session_id, tool_use_id)


def tool_part_span_id(session_id: str, tool_use_id: str, part: str) -> int:
    """A child of a tool call's span: its permission wait or its execution."""
    return ids.span_id_for(_TOOL, session_id, tool_use_id, part)


def subagent_span_id(session_id: str, agent_id: str) -> int:
    return ids.span_id_for(_SUBAGENT, session_id, agent_id)


def compaction_span_id(session_id: str, start_ns: int) -> int:
    return ids.span_id_for(_COMPACTION, session_id, str(start_ns))


# --- parent lookups -----------------------------------------------------------------------------------------
def _at(span: OpenSpan) -> Placement:
    return span.trace_id, span.span_id


def session_level(session: Session) -> Placement:
    """The open session run, else the session's trace as a root."""
    if session.run is not None:
        return _at(session.run)
    return session_trace_id(session.session_id), None


def turn_or_session(session: Session) -> Placement:
    if session.turn is not None:
        return _at(session.turn.span)
    return session_level(session)


def for_tool_call(session: Session, agent_id: str | None) -> Placement:
    """A tool call: under its subagent, else its turn, else the session run."""
    if agent_id and agent_id in session.subagents:
        return _at(session.subagents[agent_id].span)
    return turn_or_session(session)


def for_compaction(session: Session) -> Placement:
    return turn_or_session(session)


def for_subagent(session: Session, parent_tool: str | None) -> Placement:
    """A subagent: under the Agent tool call that started it, else compaction, turn or session run."""
    if parent_tool and parent_tool in session.tools:
        return _at(session.tools[parent_tool].span)
    if parent_tool and session.turn is not None:
        # The Agent call has ended already (a background subagent): its span id is derived, so nest anyway.
        return session.turn.span.trace_id, tool_span_id(session.session_id, parent_tool)
    if session.compaction is not None:
        return _at(session.compaction)
    return turn_or_session(session)


def for_llm_call(
    session_id: str,
    session: Session | None,
    *,
    agent_id: str | None,
    agent_trace_id: int | None,
    prompt_id: str | None,
) -> Placement:
    """An LLM call read from a transcript: under its subagent, else its turn (by prompt id), else the session."""
    if agent_id:
        trace_id = agent_trace_id or turn_trace_id(session_id, prompt_id or "")
        return trace_id, subagent_span_id(session_id, agent_id)
    key = prompt_id or (session.turn.prompt_key if session is not None and session.turn is not None else None)
    if key:
        return turn_trace_id(session_id, key), turn_span_id(session_id, key)
    if session is not None:
        return session_level(session)
    return session_trace_id(session_id), None


def subagent_span(session: Session, agent_id: str | None) -> OpenSpan | None:
    if agent_id and agent_id in session.subagents:
        return session.subagents[agent_id].span
    return None


def innermost_open(session: Session, agent_id: str | None, prompt_id: str | None) -> OpenSpan | None:
    """The open span an annotation (a span event) of an event goes on."""
    subagent = subagent_span(session, agent_id)
    if subagent is not None:
        return subagent
    if session.compaction is not None:
        return session.compaction
    if session.turn is not None and (not prompt_id or prompt_id == session.turn.prompt_key):
        return session.turn.span
    return session.run
