"""Sessions, turns and compactions: the spans that frame tool calls.

A session run (SessionStart to SessionEnd) is a root span in the session's own trace; a turn (a prompt until
Stop) is its own trace, named by `prompt_id`, linked to the session run; a compaction (PreCompact to
PostCompact) is a span in the turn or session it happened in.
"""

from __future__ import annotations

from typing import Any

from otel_claude import semconv as sc
from otel_claude.live import error_classes, nesting, subagents, tool_calls
from otel_claude.live.events import HookInput, SessionStart, Stop, StopFailure, UserPromptSubmit
from otel_claude.live.span_factory import SpanFactory, json_text, remember
from otel_claude.live.state import Session, Turn
from otel_claude.transcripts.llm_calls import turn_cost_attributes

IMPLICIT_START = "implicit_start"  # closed_by of a run opened by an event other than SessionStart


def start_run(ctx: SpanFactory, session: Session, event: HookInput, now_ns: int, *, implicit: bool) -> None:
    source = event.source if isinstance(event, SessionStart) and event.source else "unknown"
    session.run = ctx.open_span(
        sc.SPAN_SESSION,
        nesting.session_trace_id(session.session_id),
        nesting.session_run_span_id(session.session_id, now_ns),
        None,
        now_ns,
        session,
        {sc.CC_SPAN_TYPE: sc.SPAN_TYPE_SESSION, sc.CC_SESSION_SOURCE: source, sc.CC_UNFINISHED: implicit},
    )
    if implicit:
        # Counted when its SessionStart comes after all (concurrent hooks reach the spool in any order) or at its end.
        session.run.attributes[sc.CC_CLOSED_BY] = IMPLICIT_START
        return
    ctx.metrics.session_started(source, ctx.labels(session))


def adopt_start(ctx: SpanFactory, session: Session, event: SessionStart, now_ns: int) -> bool:
    """A SessionStart that reached the spool after an event of its run (Setup, InstructionsLoaded): the run opened
    for that event is this SessionStart's, unless a turn has run in it already. True when adopted."""
    run = session.run
    if run is None or run.attributes.get(sc.CC_CLOSED_BY) != IMPLICIT_START:
        return False
    if session.turn is not None or session.closed_prompts:
        return False
    source = event.source or "unknown"
    run.attributes[sc.CC_SESSION_SOURCE] = source
    run.attributes[sc.CC_UNFINISHED] = False
    del run.attributes[sc.CC_CLOSED_BY]
    run.start_ns = min(run.start_ns, now_ns)
    ctx.metrics.session_started(source, ctx.labels(session))
    return True


def end_run(ctx: SpanFactory, session: Session, now_ns: int, reason: str, *, closed_by: str | None = None) -> None:
    end_turn(ctx, session, now_ns, sc.TURN_UNFINISHED, closed_by=closed_by or "SessionEnd")
    end_compaction(ctx, session, now_ns, closed_by=closed_by or "SessionEnd")
    for subagent in list(session.subagents.values()):
        subagents.close_subagent(
            ctx, session, subagent, now_ns, closed_by=closed_by or "SessionEnd", start_missing=False
        )
    tool_calls.close_open_calls(ctx, session, now_ns, closed_by or "SessionEnd", main_only=False)
    if session.run is None:
        return
    if session.run.attributes.get(sc.CC_CLOSED_BY) == IMPLICIT_START:
        ctx.metrics.session_started("unknown", ctx.labels(session))  # no SessionStart came: counted now
    attributes: dict[str, Any] = {sc.CC_SESSION_END_REASON: reason}
    if session.claude_code_version:
        attributes[sc.CC_VERSION] = session.claude_code_version
    if closed_by:
        attributes[sc.CC_UNFINISHED] = True
        attributes[sc.CC_CLOSED_BY] = closed_by
    ctx.finish(session.run, now_ns, attributes)
    session.run = None


def prompt_key(session: Session, event: HookInput, now_ns: int) -> str:
    # Before 2.1.196 there is no prompt_id: the receive time of the prompt names the turn instead.
    return event.prompt_id or f"t{now_ns}"


def start_turn(ctx: SpanFactory, session: Session, event: HookInput, now_ns: int, *, trigger: str) -> Turn:
    key = prompt_key(session, event, now_ns)
    attributes: dict[str, Any] = {
        sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TURN,
        sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_INVOKE_AGENT,
        sc.GEN_AI_AGENT_NAME: sc.AGENT_NAME_MAIN,
        sc.CC_TURN_TRIGGER: trigger,
    }
    if event.prompt_id:
        attributes[sc.CC_PROMPT_ID] = event.prompt_id
    if event.permission_mode:
        attributes[sc.CC_PERMISSION_MODE] = event.permission_mode
    span = ctx.open_span(
        sc.turn_span_name(),
        nesting.turn_trace_id(session.session_id, key),
        nesting.turn_span_id(session.session_id, key),
        None,
        now_ns,
        session,
        attributes,
    )
    if session.run is not None:
        span.links.append((session.run.trace_id, session.run.span_id))
    session.turn = Turn(prompt_key=key, span=span)
    return session.turn


def user_prompt(ctx: SpanFactory, session: Session, event: UserPromptSubmit, now_ns: int) -> None:
    key = prompt_key(session, event, now_ns)
    if session.turn is not None and session.turn.prompt_key == key:
        # Same prompt id again (e.g. a background task's notification): the same turn goes on, past any Esc the
        # transcript showed for it before it opened (Session.interrupts), which is then not its end.
        if session.interrupts.get(key, now_ns) < now_ns:
            del session.interrupts[key]
        session.turn.prompts += 1
        ctx.add_event(session.turn.span, "user_prompt", now_ns, _prompt_attributes(ctx, event))
        return
    end_turn(ctx, session, now_ns, sc.TURN_UNFINISHED, closed_by="UserPromptSubmit")
    turn = start_turn(ctx, session, event, now_ns, trigger="prompt")
    turn.span.attributes.update(_prompt_attributes(ctx, event))


def _prompt_attributes(ctx: SpanFactory, event: UserPromptSubmit) -> dict[str, Any]:
    attributes: dict[str, Any] = {sc.CC_PROMPT_SIZE: len(event.prompt.encode("utf-8", "surrogatepass"))}
    if ctx.settings.capture_content:
        attributes[sc.CC_PROMPT] = json_text(event.prompt)
    return attributes


def ensure_turn(ctx: SpanFactory, session: Session, event: HookInput, now_ns: int) -> None:
    """An event of a prompt we have no open turn for (a /compact, a lost UserPromptSubmit) opens one."""
    if not event.prompt_id or event.agent_id:
        return
    if session.turn is not None and session.turn.prompt_key == event.prompt_id:
        return
    if event.prompt_id in session.closed_prompts:
        return  # a late event of a turn that has ended: it goes on the session run instead
    end_turn(ctx, session, now_ns, sc.TURN_UNFINISHED, closed_by=event.hook_event_name)
    start_turn(ctx, session, event, now_ns, trigger="implicit")


def stop(ctx: SpanFactory, session: Session, event: Stop | StopFailure, now_ns: int) -> None:
    if session.turn is None:
        start_turn(ctx, session, event, now_ns, trigger="implicit")
    if isinstance(event, StopFailure):
        # Capture off: Claude Code's error kind, the API's error type and status code; never the response body.
        failure = error_classes.classify_stop_failure(event.error, event.error_details)
        extra: dict[str, Any] = failure.attributes()
        if ctx.settings.capture_content and event.error_details:
            extra[sc.CC_STOP_ERROR_DETAILS] = json_text(event.error_details, 1000)  # redacted before it is cut
        end_turn(ctx, session, now_ns, sc.TURN_FAILED, extra=extra, error=failure.description)
    else:
        end_turn(ctx, session, now_ns, sc.TURN_COMPLETED)


def end_turn(
    ctx: SpanFactory,
    session: Session,
    now_ns: int,
    outcome: str,
    *,
    closed_by: str | None = None,
    extra: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    turn = session.turn
    if turn is None:
        return
    stopped_ns = session.interrupts.pop(turn.prompt_key, None)  # used or not, it ends with its turn
    if stopped_ns is not None and outcome == sc.TURN_UNFINISHED:
        # The transcript, read before the turn opened, showed an Esc: it ended there.
        outcome, closed_by, now_ns = sc.TURN_INTERRUPTED, tool_calls.TRANSCRIPT, max(stopped_ns, turn.span.start_ns)
    tool_calls.close_open_calls(ctx, session, now_ns, closed_by or "Stop", main_only=True)
    if outcome == sc.TURN_UNFINISHED and _bare_compact(turn):
        # `/compact` alone fires no Stop: its turn ends with the next prompt or the session, and it did complete.
        outcome, closed_by = sc.TURN_COMPLETED, None
    attributes: dict[str, Any] = {sc.CC_TURN_OUTCOME: outcome, sc.CC_TURN_PROMPTS: turn.prompts, **(extra or {})}
    if outcome == sc.TURN_UNFINISHED:
        attributes[sc.CC_UNFINISHED] = True
    if closed_by:
        attributes[sc.CC_CLOSED_BY] = closed_by
    attributes.update(turn_cost_attributes(session.reported_cost_usd, session.cost_usd))
    if session.claude_code_version:
        attributes[sc.CC_VERSION] = session.claude_code_version
    ctx.finish_framing(session, turn.span, now_ns, attributes, error)
    ctx.metrics.turn_ended(outcome, (now_ns - turn.span.start_ns) / 1e9, ctx.labels(session))
    remember(session.closed_prompts, turn.prompt_key)
    session.turn = None


def _bare_compact(turn: Turn) -> bool:
    return turn.compacted and turn.span.attributes.get(sc.CC_TURN_TRIGGER) == "implicit"


def start_compaction(ctx: SpanFactory, session: Session, event: HookInput, now_ns: int) -> None:
    end_compaction(ctx, session, now_ns, closed_by=event.hook_event_name)
    trigger = str(event.extra_fields.get("trigger") or getattr(event, "trigger", None) or "unknown")
    trace_id, parent = nesting.for_compaction(session)
    session.compaction = ctx.open_span(
        sc.SPAN_COMPACTION,
        trace_id,
        nesting.compaction_span_id(session.session_id, now_ns),
        parent,
        now_ns,
        session,
        {sc.CC_SPAN_TYPE: sc.SPAN_TYPE_COMPACTION, sc.CC_COMPACTION_TRIGGER: trigger},
    )
    ctx.metrics.compaction(trigger, ctx.labels(session))


def end_compaction(ctx: SpanFactory, session: Session, now_ns: int, *, closed_by: str | None = None) -> None:
    if session.compaction is None:
        return
    attributes: dict[str, Any] = {}
    if closed_by:
        attributes = {sc.CC_UNFINISHED: True, sc.CC_CLOSED_BY: closed_by}
    elif session.turn is not None:
        session.turn.compacted = True
    span = session.compaction
    session.last_compaction = [span.trace_id, span.span_id, span.start_ns, max(now_ns, span.start_ns)]
    ctx.finish(span, now_ns, attributes)
    session.compaction = None
