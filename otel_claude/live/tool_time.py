"""Where a tool call's time went: waiting on the user's permission, and executing (as Claude Code's own traces
split `claude_code.tool` into `tool.blocked_on_user` and `tool.execution`).

The tool span runs from PreToolUse to the call's end and so holds hook spawns and any permission dialog. Its
children: the permission wait, from PermissionRequest until the decision (the execution's start when the call
ran, its end otherwise), and the execution, Claude Code's own `duration_ms` ending at the result. The tool-duration
histogram records the execution; the wait has a histogram of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_claude import semconv as sc
from otel_claude.live import nesting
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import Session, ToolCall


@dataclass(frozen=True)
class ToolTime:
    execution_s: float  # what the tool-duration histogram records
    permission_wait_s: float | None  # None: no permission was asked


def split(
    ctx: SpanFactory, session: Session, call: ToolCall, end_ns: int, outcome: str, duration_ms: float | None
) -> ToolTime:
    """Emits the children of `call`'s span and says how long it executed and waited."""
    ran = outcome in sc.RAN_OUTCOMES
    execution_start: int | None = None
    if duration_ms is not None and ran:
        execution_start = max(end_ns - round(duration_ms * 1_000_000), call.span.start_ns)
        _child(ctx, session, call, sc.SPAN_TOOL_EXECUTION, sc.SPAN_TYPE_TOOL_EXECUTION, execution_start, end_ns)
    wait_s: float | None = None
    if call.permission_requested_ns is not None:
        wait_end = execution_start if execution_start is not None else end_ns
        wait_start = min(call.permission_requested_ns, wait_end)
        decision = sc.PERMISSION_GRANTED if ran else sc.PERMISSION_DENIED
        if outcome == sc.OUTCOME_UNFINISHED:
            decision = sc.PERMISSION_UNKNOWN
        _child(
            ctx,
            session,
            call,
            sc.SPAN_TOOL_PERMISSION_WAIT,
            sc.SPAN_TYPE_PERMISSION_WAIT,
            wait_start,
            wait_end,
            {sc.CC_PERMISSION_DECISION: decision},
        )
        wait_s = (wait_end - wait_start) / 1e9
        ctx.metrics.permission_wait(call.tool_name, decision, wait_s, ctx.labels(session))
    if execution_start is not None:
        execution_s = (end_ns - execution_start) / 1e9
    else:  # no duration_ms (before 2.1.119, or the call never ran): the hooks' interval less the wait
        execution_s = (end_ns - call.span.start_ns) / 1e9 - (wait_s or 0.0)
    return ToolTime(max(execution_s, 0.0), wait_s)


def _child(
    ctx: SpanFactory,
    session: Session,
    call: ToolCall,
    name: str,
    span_type: str,
    start_ns: int,
    end_ns: int,
    attributes: dict[str, object] | None = None,
) -> None:
    span = ctx.open_span(
        name,
        call.span.trace_id,
        nesting.tool_part_span_id(session.session_id, call.tool_use_id, span_type),
        call.span.span_id,
        start_ns,
        session,
        {
            sc.CC_SPAN_TYPE: span_type,
            sc.GEN_AI_TOOL_NAME: call.tool_name,
            sc.GEN_AI_TOOL_CALL_ID: call.tool_use_id,
            **(attributes or {}),
        },
    )
    ctx.finish(span, end_ns)
