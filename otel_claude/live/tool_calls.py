"""Tool calls: one span per tool_use_id from PreToolUse to its end, nested under the subagent that made it
(live/subagents.py); calls only the transcript shows (stopped by Esc, refused, blocked) at the transcript's time.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from otel_claude import semconv as sc
from otel_claude.live import error_classes, nesting, tool_time
from otel_claude.live.events import (
    PermissionDenied,
    PermissionRequest,
    PostToolBatch,
    PostToolUse,
    PostToolUseFailure,
    PreToolUse,
)
from otel_claude.live.metrics import span_context
from otel_claude.live.span_factory import SpanFactory, json_text, remember, size_of
from otel_claude.live.state import RefusedToolCall, Session, ToolCall

_log = logging.getLogger(__name__)
AGENT_TOOLS = frozenset({"Agent", "Task"})
MAX_UNCLAIMED_AGENT_TOOLS = 32
TRANSCRIPT = "transcript"  # closed_by of a call whose end only the transcript showed
MAX_REFUSED = 32
_PROGRAM = re.compile(r"[A-Za-z0-9._+-]{1,40}")


def tool_summary(tool_name: str, tool_input: Any) -> str | None:
    """Safe metadata without content: the program a Bash command runs, the extension of a file a tool touches."""
    if not isinstance(tool_input, dict):
        return None
    if tool_name == "Bash" and isinstance(tool_input.get("command"), str):
        words = tool_input["command"].strip().split(None, 1)
        program = os.path.basename(words[0]) if words else ""
        return program if _PROGRAM.fullmatch(program) else None
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    if isinstance(path, str):
        extension = os.path.splitext(path)[1]
        return extension if _PROGRAM.fullmatch(extension or "-") else None
    return None


def pre_tool_use(ctx: SpanFactory, session: Session, event: PreToolUse, now_ns: int) -> None:
    if event.tool_use_id in session.tools or event.tool_use_id in session.closed_tools:
        return  # a repeated record: the span exists already
    trace_id, parent = nesting.for_tool_call(session, event.agent_id)
    attributes: dict[str, Any] = {
        sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL,
        sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: event.tool_name,
        sc.GEN_AI_TOOL_CALL_ID: event.tool_use_id,
        sc.GEN_AI_TOOL_TYPE: sc.GEN_AI_TOOL_TYPE_FUNCTION,
        sc.CC_AGENT_KIND: "subagent" if event.agent_id else "main",
        sc.CC_TOOL_INPUT_SIZE: size_of(event.tool_input),
    }
    if event.agent_id:
        attributes[sc.GEN_AI_AGENT_ID] = event.agent_id
    summary = tool_summary(event.tool_name, event.tool_input)
    if summary:
        attributes[sc.CC_TOOL_SUMMARY] = summary
    if event.permission_mode:
        attributes[sc.CC_PERMISSION_MODE] = event.permission_mode
    if ctx.settings.capture_content:
        attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = json_text(event.tool_input)
    span = ctx.open_span(
        sc.tool_span_name(event.tool_name),
        trace_id,
        nesting.tool_span_id(session.session_id, event.tool_use_id),
        parent,
        now_ns,
        session,
        attributes,
    )
    session.tools[event.tool_use_id] = ToolCall(
        tool_use_id=event.tool_use_id,
        tool_name=event.tool_name,
        agent_id=event.agent_id,
        prompt_key=session.turn.prompt_key if session.turn else None,
        span=span,
    )
    if event.tool_name in AGENT_TOOLS:
        session.unclaimed_agent_tools.append(event.tool_use_id)


def _start_missing_call(ctx: SpanFactory, session: Session, event: PreToolUse, start_ns: int) -> ToolCall | None:
    pre_tool_use(ctx, session, event, start_ns)
    return session.tools.get(event.tool_use_id)


def end_tool_call(
    ctx: SpanFactory,
    session: Session,
    call: ToolCall,
    end_ns: int,
    outcome: str,
    *,
    error: str | None = None,
    closed_by: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    session.tools.pop(call.tool_use_id, None)
    session.interrupts.pop(call.tool_use_id, None)  # an Esc read ahead for it: used or not, it ends here
    # A background Agent call ends at once, often before its SubagentStart reached the spool: it stays claimable.
    if call.tool_use_id in session.unclaimed_agent_tools and not (extra or {}).get(sc.CC_SUBAGENT_BACKGROUND):
        session.unclaimed_agent_tools.remove(call.tool_use_id)
    del session.unclaimed_agent_tools[:-MAX_UNCLAIMED_AGENT_TOOLS]
    remember(session.closed_tools, call.tool_use_id)
    attributes: dict[str, Any] = {sc.CC_TOOL_OUTCOME: outcome, **(extra or {})}
    error_type: str | None = None
    status_error: str | None = None
    if outcome in (sc.OUTCOME_ERROR, sc.OUTCOME_INTERRUPTED):
        # Capture off: a class, a size and an exit code, never the error's words (see error_classes).
        failure = error_classes.classify_tool_error(error or "", outcome == sc.OUTCOME_INTERRUPTED)
        error_type, status_error = failure.error_type, failure.description
        attributes.update(failure.attributes())
        if ctx.settings.capture_content and error:
            attributes[sc.CC_TOOL_ERROR] = json_text(error, 1000)  # redacted before it is cut
    if outcome == sc.OUTCOME_UNFINISHED:
        attributes[sc.CC_UNFINISHED] = True
    if closed_by:
        attributes[sc.CC_CLOSED_BY] = closed_by
    if call.permission_requested:
        attributes[sc.CC_TOOL_PERMISSION_REQUESTED] = True
    ctx.finish(call.span, end_ns, attributes, status_error)
    duration_ms = attributes.get(sc.CC_TOOL_DURATION_MS)
    time = tool_time.split(
        ctx, session, call, end_ns, outcome, duration_ms if isinstance(duration_ms, float | int) else None
    )
    ctx.metrics.tool_call(
        call.tool_name,
        outcome,
        "subagent" if call.agent_id else "main",
        time.execution_s,
        error_type,
        ctx.labels(session),
        span_context(call.span.trace_id, call.span.span_id),  # exemplar: metric -> this call's trace
    )


def post_tool_use(ctx: SpanFactory, session: Session, event: PostToolUse | PostToolUseFailure, now_ns: int) -> None:
    call = session.tools.get(event.tool_use_id)
    if call is None:
        if event.tool_use_id in session.closed_tools:
            return
        # The PreToolUse was lost or arrives late: Claude Code's own duration gives the start.
        start_ns = now_ns - int((event.duration_ms or 0) * 1e6)
        pre = PreToolUse.model_validate({**event.model_dump(), "hook_event_name": "PreToolUse"})
        call = _start_missing_call(ctx, session, pre, start_ns)
        if call is None:
            return
    extra: dict[str, Any] = {}
    if event.duration_ms is not None:
        extra[sc.CC_TOOL_DURATION_MS] = event.duration_ms
    if isinstance(event, PostToolUseFailure):
        outcome = sc.OUTCOME_INTERRUPTED if event.is_interrupt else sc.OUTCOME_ERROR
        end_tool_call(ctx, session, call, now_ns, outcome, error=event.error, extra=extra)
        return
    extra[sc.CC_TOOL_RESPONSE_SIZE] = size_of(event.tool_response)
    if ctx.settings.capture_content:
        extra[sc.GEN_AI_TOOL_CALL_RESULT] = json_text(event.tool_response)
    response = event.tool_response if isinstance(event.tool_response, dict) else {}
    if call.tool_name in AGENT_TOOLS and response.get("status") == "async_launched":
        extra[sc.CC_SUBAGENT_BACKGROUND] = True
    end_tool_call(ctx, session, call, now_ns, sc.OUTCOME_SUCCESS, extra=extra)


def permission_denied(ctx: SpanFactory, session: Session, event: PermissionDenied, now_ns: int) -> None:
    call = session.tools.get(event.tool_use_id)
    if call is None:
        if event.tool_use_id in session.closed_tools:
            return
        pre = PreToolUse.model_validate({**event.model_dump(), "hook_event_name": "PreToolUse"})
        call = _start_missing_call(ctx, session, pre, now_ns)
        if call is None:
            return
    extra: dict[str, Any] = {sc.CC_PERMISSION_DENIED_CATEGORY: error_classes.denial_category(event.reason)}
    if ctx.settings.capture_content and event.reason:
        extra[sc.CC_PERMISSION_DENIED_REASON] = json_text(event.reason, 1000)
    end_tool_call(ctx, session, call, now_ns, sc.OUTCOME_PERMISSION_DENIED, extra=extra)


def permission_request(ctx: SpanFactory, session: Session, event: PermissionRequest, now_ns: int) -> None:
    """No tool_use_id here: the newest open call of that tool in the same (sub)agent is the one asking."""
    ctx.metrics.permission_request(event.tool_name, ctx.labels(session))
    for call in reversed(list(session.tools.values())):
        if call.tool_name == event.tool_name and call.agent_id == event.agent_id:
            call.permission_requested = True
            call.permission_requested_ns = call.permission_requested_ns or now_ns
            ctx.add_event(call.span, "permission_request", now_ns, ctx.event_attributes(event))
            return


def post_tool_batch(ctx: SpanFactory, session: Session, event: PostToolBatch, now_ns: int) -> bool:
    """The batch is resolved: a call in it with no end event did not run (refused, or blocked by a hook)."""
    closed = False
    for item in event.tool_calls:
        call = session.tools.get(str(item.get("tool_use_id")))
        if call is None or call.agent_id != event.agent_id:
            continue
        outcome = sc.OUTCOME_PERMISSION_DENIED if call.permission_requested else sc.OUTCOME_UNFINISHED
        end_tool_call(ctx, session, call, now_ns, outcome, closed_by=event.hook_event_name)
        closed = True
    return closed


def interrupted(ctx: SpanFactory, session: Session, tool_use_ids: tuple[str, ...], at_ns: int) -> None:
    """Calls the transcript shows stopped by the user (Esc; no hook fires) or refused in a dialog, at that time."""
    for tool_use_id in tool_use_ids:
        call = session.tools.get(tool_use_id)
        if call is None:
            continue
        end_ns = max(at_ns, call.span.start_ns)
        if call.permission_requested:
            end_tool_call(ctx, session, call, end_ns, sc.OUTCOME_PERMISSION_DENIED, closed_by=TRANSCRIPT)
        else:
            error = "interrupted by the user"
            end_tool_call(ctx, session, call, end_ns, sc.OUTCOME_INTERRUPTED, error=error, closed_by=TRANSCRIPT)


def note_refused(session: Session, refused: RefusedToolCall) -> None:
    if refused.tool_use_id in session.tools or refused.tool_use_id in session.closed_tools:
        return  # its hooks fired: the span exists
    if all(r.tool_use_id != refused.tool_use_id for r in session.refused):
        session.refused.append(refused)
        del session.refused[:-MAX_REFUSED]


def flush_refused(ctx: SpanFactory, session: Session) -> None:
    """Spans for refused calls whose turn is over with no PreToolUse for them: Claude Code blocked them itself."""
    waiting: list[RefusedToolCall] = []
    for refused in session.refused:
        if refused.tool_use_id in session.tools or refused.tool_use_id in session.closed_tools:
            continue
        if session.turn is not None and refused.prompt_id in (None, session.turn.prompt_key):
            waiting.append(refused)
            continue
        _refused_span(ctx, session, refused)
    session.refused = waiting


def _refused_span(ctx: SpanFactory, session: Session, refused: RefusedToolCall) -> None:
    key = refused.prompt_id
    trace_id, parent = (
        (nesting.turn_trace_id(session.session_id, key), nesting.turn_span_id(session.session_id, key))
        if key
        else nesting.turn_or_session(session)
    )
    attributes: dict[str, Any] = {
        sc.CC_SPAN_TYPE: sc.SPAN_TYPE_TOOL,
        sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: refused.tool_name,
        sc.GEN_AI_TOOL_CALL_ID: refused.tool_use_id,
        sc.GEN_AI_TOOL_TYPE: sc.GEN_AI_TOOL_TYPE_FUNCTION,
        sc.CC_AGENT_KIND: "main",
    }
    span = ctx.open_span(
        sc.tool_span_name(refused.tool_name),
        trace_id,
        nesting.tool_span_id(session.session_id, refused.tool_use_id),
        parent,
        refused.start_ns,
        session,
        attributes,
    )
    call = ToolCall(tool_use_id=refused.tool_use_id, tool_name=refused.tool_name, prompt_key=key, span=span)
    if refused.reason.startswith("Blocked"):  # Claude Code's own policy refused it, as a permission rule would
        extra: dict[str, Any] = {sc.CC_TOOL_ERROR_SIZE: len(refused.reason.encode("utf-8", "surrogatepass"))}
        if ctx.settings.capture_content:  # the reason quotes the command: content, as a tool error's text is
            extra[sc.CC_TOOL_ERROR] = json_text(refused.reason, 1000)
        end_tool_call(ctx, session, call, refused.end_ns, sc.OUTCOME_BLOCKED, closed_by=TRANSCRIPT, extra=extra)
    else:  # it could not start (e.g. its input failed validation): a failure, which no hook reports
        end_tool_call(ctx, session, call, refused.end_ns, sc.OUTCOME_ERROR, error=refused.reason, closed_by=TRANSCRIPT)


def close_open_calls(ctx: SpanFactory, session: Session, end_ns: int, closed_by: str, *, main_only: bool) -> None:
    """Closes the calls still open when their turn (main agent only) or session ends, marked unfinished unless the
    transcript, read before they opened, showed them stopped (Session.interrupts)."""
    for call in list(session.tools.values()):
        if main_only and call.agent_id:
            continue
        stopped_ns = session.interrupts.get(call.tool_use_id)
        if stopped_ns is not None:
            interrupted(ctx, session, (call.tool_use_id,), stopped_ns)
        else:
            end_tool_call(ctx, session, call, end_ns, sc.OUTCOME_UNFINISHED, closed_by=closed_by)
