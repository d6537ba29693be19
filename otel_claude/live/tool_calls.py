"""Tool calls and subagents: one span per tool_use_id from PreToolUse to its end, subagents nested under the
Agent tool call that started them, their own tool calls nested under them.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from otel_claude import semconv as sc
from otel_claude.export import ids
from otel_claude.handoff import paths
from otel_claude.live.events import (
    HookInput,
    PermissionDenied,
    PermissionRequest,
    PostToolBatch,
    PostToolUse,
    PostToolUseFailure,
    PreToolUse,
    SubagentStart,
    SubagentStop,
)
from otel_claude.live.span_factory import SpanFactory, json_text, remember, size_of
from otel_claude.live.state import OpenSpan, Session, Subagent, ToolCall

_log = logging.getLogger(__name__)
AGENT_TOOLS = frozenset({"Agent", "Task"})
COMPACTION_AGENT_TYPE = "compact"
_PROGRAM = re.compile(r"[A-Za-z0-9._+-]{1,40}")
_ERROR_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Exit code \d+"), "nonzero_exit"),
    (re.compile(r"does not exist|no such file|not found", re.IGNORECASE), "not_found"),
    (re.compile(r"timed? ?out|timeout", re.IGNORECASE), "timeout"),
    (re.compile(r"permission denied|not permitted|EACCES", re.IGNORECASE), "permission"),
    (re.compile(r"has not been read|must read|modified since", re.IGNORECASE), "stale_read"),
    (re.compile(r"String to replace not found|old_string", re.IGNORECASE), "edit_mismatch"),
    (re.compile(r"InputValidationError|invalid input|validation", re.IGNORECASE), "invalid_input"),
)


def classify_error(error: str, interrupted: bool) -> str:
    """A bounded `error.type` for a failed tool call."""
    if interrupted:
        return sc.OUTCOME_INTERRUPTED
    for pattern, name in _ERROR_TYPES:
        if pattern.search(error):
            return name
    return "tool_error"


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


def _parent_of(ctx: SpanFactory, session: Session, event: HookInput) -> tuple[int, int | None]:
    """(trace_id, parent span id) for a span of `event`: its subagent, else its turn, else the session run."""
    if event.agent_id and event.agent_id in session.subagents:
        span = session.subagents[event.agent_id].span
        return span.trace_id, span.span_id
    if session.turn is not None:
        return session.turn.span.trace_id, session.turn.span.span_id
    if session.run is not None:
        return session.run.trace_id, session.run.span_id
    return ids.trace_id_for("session", session.session_id), None


def pre_tool_use(ctx: SpanFactory, session: Session, event: PreToolUse, now_ns: int) -> None:
    if event.tool_use_id in session.tools or event.tool_use_id in session.closed_tools:
        return  # a repeated record: the span exists already
    trace_id, parent = _parent_of(ctx, session, event)
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
        ids.span_id_for("tool", session.session_id, event.tool_use_id),
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
    if call.tool_use_id in session.unclaimed_agent_tools:
        session.unclaimed_agent_tools.remove(call.tool_use_id)
    remember(session.closed_tools, call.tool_use_id)
    attributes: dict[str, Any] = {sc.CC_TOOL_OUTCOME: outcome, **(extra or {})}
    error_type: str | None = None
    status_error: str | None = None
    if outcome in (sc.OUTCOME_ERROR, sc.OUTCOME_INTERRUPTED):
        error_type = classify_error(error or "", outcome == sc.OUTCOME_INTERRUPTED)
        attributes[sc.ERROR_TYPE] = error_type
        text = error or outcome
        attributes[sc.CC_TOOL_ERROR] = json_text(text, 1000)  # scrubbed by the redacting processor
        status_error = text.splitlines()[0][:300] if text.strip() else outcome
    elif outcome == sc.OUTCOME_PERMISSION_DENIED:
        attributes[sc.ERROR_TYPE] = sc.OUTCOME_PERMISSION_DENIED
    if outcome == sc.OUTCOME_UNFINISHED:
        attributes[sc.CC_UNFINISHED] = True
    if closed_by:
        attributes[sc.CC_CLOSED_BY] = closed_by
    if call.permission_requested:
        attributes[sc.CC_TOOL_PERMISSION_REQUESTED] = True
    ctx.finish(call.span, end_ns, attributes, status_error)
    ctx.metrics.tool_call(
        call.tool_name,
        outcome,
        "subagent" if call.agent_id else "main",
        (end_ns - call.span.start_ns) / 1e9,
        error_type,
        ctx.labels(session),
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
    extra = {sc.CC_PERMISSION_DENIED_REASON: event.reason} if event.reason else {}
    end_tool_call(ctx, session, call, now_ns, sc.OUTCOME_PERMISSION_DENIED, extra=extra)


def permission_request(ctx: SpanFactory, session: Session, event: PermissionRequest, now_ns: int) -> None:
    """No tool_use_id here: the newest open call of that tool in the same (sub)agent is the one asking."""
    ctx.metrics.permission_request(event.tool_name, ctx.labels(session))
    for call in reversed(list(session.tools.values())):
        if call.tool_name == event.tool_name and call.agent_id == event.agent_id:
            call.permission_requested = True
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


def _meta_parent_tool(session: Session, agent_id: str) -> str | None:
    """The Agent tool call that started this subagent, from `<session>/subagents/agent-<id>.meta.json`."""
    if not session.transcript_path:
        return None
    base = os.path.splitext(session.transcript_path)[0]
    path = os.path.join(base, "subagents", f"agent-{agent_id}.meta.json")
    try:
        meta = json.loads(paths.read_regular(path, 1 << 16))  # a FIFO or a link there is refused, never waited on
    except (OSError, ValueError):
        return None
    tool_use_id = meta.get("toolUseId") if isinstance(meta, dict) else None
    return tool_use_id if isinstance(tool_use_id, str) else None


def _claim_parent_tool(session: Session, agent_id: str) -> str | None:
    tool_use_id = _meta_parent_tool(session, agent_id)
    if tool_use_id is None and session.unclaimed_agent_tools:
        tool_use_id = session.unclaimed_agent_tools[0]  # subagents start in the order they were asked for
    if tool_use_id in session.unclaimed_agent_tools:
        session.unclaimed_agent_tools.remove(tool_use_id)
    return tool_use_id


def subagent_start(ctx: SpanFactory, session: Session, event: SubagentStart, now_ns: int) -> None:
    agent_id = event.agent_id or ""
    if not agent_id or agent_id in session.subagents or agent_id in session.closed_subagents:
        return
    parent_tool = _claim_parent_tool(session, agent_id)
    trace_id, parent = _subagent_parent(session, parent_tool)
    # Compaction's summarizer runs as a subagent with an empty type.
    agent_type = event.agent_type or (COMPACTION_AGENT_TYPE if session.compaction is not None else "")
    span = ctx.open_span(
        sc.subagent_span_name(agent_type),
        trace_id,
        ids.span_id_for("subagent", session.session_id, agent_id),
        parent,
        now_ns,
        session,
        {
            sc.CC_SPAN_TYPE: sc.SPAN_TYPE_SUBAGENT,
            sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_INVOKE_AGENT,
            sc.GEN_AI_AGENT_ID: agent_id,
            sc.GEN_AI_AGENT_NAME: agent_type or "subagent",
            sc.CC_SUBAGENT_TYPE: agent_type,
            **({sc.CC_SUBAGENT_PARENT_TOOL_CALL_ID: parent_tool} if parent_tool else {}),
        },
    )
    session.subagents[agent_id] = Subagent(
        agent_id=agent_id, agent_type=agent_type, parent_tool_use_id=parent_tool, span=span
    )


def _subagent_parent(session: Session, parent_tool: str | None) -> tuple[int, int | None]:
    if parent_tool and parent_tool in session.tools:
        span = session.tools[parent_tool].span
        return span.trace_id, span.span_id
    if parent_tool and session.turn is not None:
        # The Agent call has ended already (a background subagent): its span id is derived, so nest anyway.
        return session.turn.span.trace_id, ids.span_id_for("tool", session.session_id, parent_tool)
    if session.compaction is not None:
        return session.compaction.trace_id, session.compaction.span_id
    if session.turn is not None:
        return session.turn.span.trace_id, session.turn.span.span_id
    if session.run is not None:
        return session.run.trace_id, session.run.span_id
    return ids.trace_id_for("session", session.session_id), None


def subagent_stop(ctx: SpanFactory, session: Session, event: SubagentStop, now_ns: int) -> None:
    agent_id = event.agent_id or ""
    if not agent_id or agent_id in session.closed_subagents:
        return
    subagent = session.subagents.get(agent_id)
    missing_start = subagent is None
    if subagent is None:
        # No SubagentStart (compaction's summarizer has none): a span from the stop alone, marked so.
        subagent_start(ctx, session, SubagentStart.model_validate(event.model_dump()), now_ns)
        subagent = session.subagents[agent_id]
        if session.compaction is not None:
            subagent.span.start_ns = session.compaction.start_ns
    close_subagent(ctx, session, subagent, now_ns, closed_by=None, start_missing=missing_start)


def close_subagent(
    ctx: SpanFactory, session: Session, subagent: Subagent, end_ns: int, *, closed_by: str | None, start_missing: bool
) -> None:
    for call in [c for c in session.tools.values() if c.agent_id == subagent.agent_id]:
        end_tool_call(ctx, session, call, end_ns, sc.OUTCOME_UNFINISHED, closed_by=closed_by or "SubagentStop")
    session.subagents.pop(subagent.agent_id, None)
    remember(session.closed_subagents, subagent.agent_id)
    attributes: dict[str, Any] = {}
    if start_missing:
        attributes[sc.CC_SUBAGENT_START_MISSING] = True
    if closed_by:
        attributes[sc.CC_UNFINISHED] = True
        attributes[sc.CC_CLOSED_BY] = closed_by
    ctx.finish(subagent.span, end_ns, attributes)
    if subagent.agent_type == COMPACTION_AGENT_TYPE and start_missing:
        return  # compaction's summarizer: counted as a compaction, not as a subagent the user asked for
    ctx.metrics.subagent_ended(
        subagent.agent_type or "subagent", (end_ns - subagent.span.start_ns) / 1e9, ctx.labels(session)
    )


def close_open_calls(ctx: SpanFactory, session: Session, end_ns: int, closed_by: str, *, main_only: bool) -> None:
    """Closes the calls still open when their turn (main agent only) or session ends, marked unfinished."""
    for call in list(session.tools.values()):
        if main_only and call.agent_id:
            continue
        end_tool_call(ctx, session, call, end_ns, sc.OUTCOME_UNFINISHED, closed_by=closed_by)


def span_of_agent(session: Session, agent_id: str | None) -> OpenSpan | None:
    if agent_id and agent_id in session.subagents:
        return session.subagents[agent_id].span
    return None
