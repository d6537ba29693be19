"""The Errors and Traces dashboards: what went wrong in tool calls and turns, otel-claude's own pipeline
health, and TraceQL searches that open the trace view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import promql as q
from dashboard_kit import Dashboard, Json, Panel, PromQuery, Row, TraceQuery, Variable
from panel_types import bargauge, stat, table, timeseries, traces

from otel_claude import semconv as sc

# Span attributes as TraceQL names them: `span.` + the otel_claude/semconv.py name.
SPAN_TYPE = f"span.{sc.CC_SPAN_TYPE}"
TOOL_NAME = f"span.{sc.GEN_AI_TOOL_NAME}"
REQUEST_MODEL = f"span.{sc.GEN_AI_REQUEST_MODEL}"


def _tools(outcome: str | None = None) -> str:
    return q.sel(q.TOOL_CALLS, q.TOOL_FILTERS, **({q.OUTCOME: outcome} if outcome else {}))


def _errors() -> str:
    return q.sel(q.TOOL_ERRORS, q.TOOL_FILTERS)


def errors_dashboard(variables: Sequence[Variable], links: Sequence[Json]) -> Dashboard:
    items: list[Panel | Row] = [
        stat(
            "Failed tool calls",
            PromQuery(q.total(_tools("error")), instant=True),
            description="Tool calls that ended in PostToolUseFailure (not interrupted).",
        ),
        stat(
            "Interrupted tool calls",
            PromQuery(q.total(_tools("interrupted")), instant=True),
            description="Tool calls the user interrupted (PostToolUseFailure with is_interrupt).",
        ),
        stat(
            "Permission denials",
            PromQuery(q.total(_tools("permission_denied")), instant=True),
            description="Tool calls the permission system refused (PermissionDenied).",
        ),
        stat(
            "Unfinished tool calls",
            PromQuery(q.total(_tools("unfinished")), instant=True),
            description="PreToolUse with no end event: closed by otel-claude when the turn or session ended.",
        ),
        stat(
            "Failed turns",
            PromQuery(q.total(q.sel(q.TURNS, q.SESSION_FILTERS, **{q.TURN_OUTCOME: "failed"})), instant=True),
            description="Turns that ended in StopFailure (API errors).",
        ),
        stat(
            "Tool error rate",
            PromQuery(q.ratio(q.total(_tools("error")), q.total(_tools())), instant=True),
            unit="percentunit",
            decimals=1,
            zero_if_empty=False,
        ),
        table(
            "Failed tool calls by tool and error type",
            [PromQuery(q.total(_errors(), [q.TOOL, q.ERROR_TYPE]), instant=True, table=True)],
            sort_by="Value",
            description="Error types are classified from the failure text; never the text.",
        ),
        table(
            "Unsuccessful tool calls by tool and outcome",
            [PromQuery(q.total(_tools("!success"), [q.TOOL, q.OUTCOME]), instant=True, table=True)],
            sort_by="Value",
        ),
        timeseries(
            "Failed tool calls over time",
            [PromQuery(q.per_step(_errors(), [q.TOOL]), q.legend(q.TOOL))],
            bars=True,
            stacked=True,
        ),
        bargauge(
            "Permission requests by tool",
            PromQuery(q.total(q.sel(q.PERMISSION_REQUESTS, q.TOOL_FILTERS), [q.TOOL]), q.legend(q.TOOL), instant=True),
            width=12,
            description="Permission dialogs shown (PermissionRequest), whatever the answer.",
        ),
        Row("Hook pipeline health (otel-claude itself)"),
        stat(
            "Spool backlog",
            PromQuery(f"max({q.SPOOL_BACKLOG})", instant=True),
            description="Hook records waiting for the agent; grows while the agent is down or cannot export.",
        ),
        stat(
            "Export failures",
            PromQuery(q.total(q.sel(q.EXPORT_FAILURES)), instant=True),
            description="Failed OTLP exports (retried from the spool; data is not lost).",
        ),
        stat(
            "Dead letters",
            PromQuery(q.total(q.sel(q.DEAD_LETTERS)), instant=True),
            description="Records that could not be parsed, set aside in the dead-letter file with the reason.",
        ),
        stat(
            "Dropped by the hook",
            PromQuery(q.total(q.sel(q.SPOOL_DROPPED)), instant=True),
            description="Records the hook could not spool (disk full or the spool's size cap reached).",
        ),
        stat("Records processed", PromQuery(q.total(q.sel(q.RECORDS_PROCESSED)), instant=True)),
        timeseries("Spool backlog over time", [PromQuery(f"max({q.SPOOL_BACKLOG})", "records")], width=12),
        timeseries(
            "Export failures by signal",
            [PromQuery(q.per_step(q.sel(q.EXPORT_FAILURES), [q.EXPORT_SIGNAL]), q.legend(q.EXPORT_SIGNAL))],
            bars=True,
            stacked=True,
        ),
        table(
            "Dead letters by reason",
            [PromQuery(q.total(q.sel(q.DEAD_LETTERS), [q.DEAD_LETTER_REASON]), instant=True, table=True)],
            width=12,
        ),
    ]
    return Dashboard(
        "otel-claude-errors",
        "otel-claude / Errors",
        "Failed, interrupted, denied and unfinished tool calls, failed turns, and otel-claude's own hook pipeline.",
        items,
        variables,
        links=links,
    )


def traces_dashboard(variables: Mapping[str, Variable], links: Sequence[Json]) -> Dashboard:
    tool = f'{SPAN_TYPE} = "tool" && {TOOL_NAME} =~ "${{tool:regex}}"'
    items: list[Panel | Row] = [
        traces(
            "Recent turns",
            TraceQuery(f'{{ {SPAN_TYPE} = "turn" }}', limit=30),
            description="One trace per turn (span invoke_agent claude-code); open one for its tool calls and "
            "LLM calls.",
        ),
        traces(
            "Slow tool calls (over 5 s)",
            TraceQuery(f"{{ {tool} && duration > 5s }}", limit=30, table_type="spans"),
            width=12,
        ),
        traces(
            "Failed tool calls", TraceQuery(f"{{ {tool} && status = error }}", limit=30, table_type="spans"), width=12
        ),
        traces(
            "LLM calls",
            TraceQuery(
                f'{{ {SPAN_TYPE} = "llm" && {REQUEST_MODEL} =~ "${{model:regex}}" }}', limit=30, table_type="spans"
            ),
            width=12,
        ),
        traces("Subagents", TraceQuery(f'{{ {SPAN_TYPE} = "subagent" }}', limit=30, table_type="spans"), width=12),
    ]
    return Dashboard(
        "otel-claude-traces",
        "otel-claude / Traces",
        "Recent turns and slow or failed tool calls, from Tempo; each row opens its trace.",
        items,
        [variables["model"], variables["tool"]],
        time_from="now-6h",
        links=links,
    )
