"""Subagents: a span from SubagentStart to SubagentStop, nested under the Agent tool call that started it (named by
the subagent's `.meta.json`, else the oldest unclaimed Agent call), its own tool calls nested under it."""

from __future__ import annotations

import json
import os
from typing import Any

from otel_claude import semconv as sc
from otel_claude.handoff import paths
from otel_claude.live import nesting
from otel_claude.live.events import SubagentStart, SubagentStop
from otel_claude.live.span_factory import SpanFactory, remember
from otel_claude.live.state import Session, Subagent
from otel_claude.live.tool_calls import end_tool_call

COMPACTION_AGENT_TYPE = "compact"


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
    trace_id, parent = nesting.for_subagent(session, parent_tool)
    # Compaction's summarizer runs as a subagent with an empty type.
    agent_type = event.agent_type or (COMPACTION_AGENT_TYPE if session.compaction is not None else "")
    span = ctx.open_span(
        sc.subagent_span_name(agent_type),
        trace_id,
        nesting.subagent_span_id(session.session_id, agent_id),
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
    if subagent.parent_tool_use_id is None:
        _late_parent(session, subagent)
    close_subagent(ctx, session, subagent, now_ns, closed_by=None, start_missing=missing_start)


def _late_parent(session: Session, subagent: Subagent) -> None:
    """The .meta.json naming the Agent call may be written after SubagentStart was handled: look again at the end
    (the span is still open, so its parent can change)."""
    tool_use_id = _meta_parent_tool(session, subagent.agent_id)
    if tool_use_id is None or subagent.span.trace_id != nesting.for_subagent(session, tool_use_id)[0]:
        return
    subagent.parent_tool_use_id = tool_use_id
    subagent.span.parent_span_id = nesting.for_subagent(session, tool_use_id)[1]
    subagent.span.attributes[sc.CC_SUBAGENT_PARENT_TOOL_CALL_ID] = tool_use_id
    if tool_use_id in session.unclaimed_agent_tools:
        session.unclaimed_agent_tools.remove(tool_use_id)


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
    ctx.finish_framing(session, subagent.span, end_ns, attributes, agent_id=subagent.agent_id)
    if subagent.agent_type == COMPACTION_AGENT_TYPE and start_missing:
        return  # compaction's summarizer: counted as a compaction, not as a subagent the user asked for
    ctx.metrics.subagent_ended(
        subagent.agent_type or "subagent", (end_ns - subagent.span.start_ns) / 1e9, ctx.labels(session)
    )
