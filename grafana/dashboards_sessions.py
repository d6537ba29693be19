"""The Sessions dashboard: recent Claude Code sessions and their turns, read from Tempo with TraceQL.

No new storage: every span carries the session's attributes (session.id, project, model; user.name is a resource
attribute), so Tempo can group a session's turns, tool calls and LLM calls. The per-session numbers are TraceQL
metrics queries evaluated once over the time range (instant), one column each, joined on the session id; the turn
and session lists are TraceQL searches whose rows open the trace. Tempo's default limit for TraceQL metrics is
24 hours (query_frontend.metrics.max_duration), hence the dashboard's range.

Columns are documented in docs/stack.md; tests/stack checks every attribute named here against semconv and the
agent's resource.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard_kit import Dashboard, Json, Panel, Row, TraceMetricsQuery, TraceQuery
from panel_types import table, traces, unit_override

# Attribute references as TraceQL spells them; names from otel_claude/semconv.py.
SPAN_TYPE = "span.claude_code.span.type"
SESSION = "span.session.id"
PROJECT = "span.claude_code.project"
MODEL = "span.gen_ai.request.model"
USER = "resource.user.name"
INPUT_TOKENS = "span.gen_ai.usage.input_tokens"  # prompt tokens, cache reads and writes included (GenAI semconv)
OUTPUT_TOKENS = "span.gen_ai.usage.output_tokens"
COST = "span.claude_code.cost.usd"
TURN_OUTCOME = "span.claude_code.turn.outcome"

TURNS = f'{{ {SPAN_TYPE} = "turn" }}'
TOOLS = f'{{ {SPAN_TYPE} = "tool" }}'
FAILED_TOOLS = f'{{ {SPAN_TYPE} = "tool" && status = error }}'
LLM_CALLS = f'{{ {SPAN_TYPE} = "llm" }}'
BY_SESSION = f"by ({SESSION})"

# (column title, TraceQL metrics query, unit): one value per session each.
SESSION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Turns", f"{TURNS} | count_over_time() by ({SESSION}, {PROJECT}, {USER}, {MODEL})", "short"),
    ("Tool calls", f"{TOOLS} | count_over_time() {BY_SESSION}", "short"),
    ("Errors", f"{FAILED_TOOLS} | count_over_time() {BY_SESSION}", "short"),
    ("Input tokens", f"{LLM_CALLS} | sum_over_time({INPUT_TOKENS}) {BY_SESSION}", "short"),
    ("Output tokens", f"{LLM_CALLS} | sum_over_time({OUTPUT_TOKENS}) {BY_SESSION}", "short"),
    ("Cost", f"{LLM_CALLS} | sum_over_time({COST}) {BY_SESSION}", "currencyUSD"),
)
# Per-session tool latency and error rate.
LATENCY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Tool calls", f"{TOOLS} | count_over_time() {BY_SESSION}", "short"),
    ("p50", f"{TOOLS} | quantile_over_time(duration, .5) {BY_SESSION}", "s"),
    ("p95", f"{TOOLS} | quantile_over_time(duration, .95) {BY_SESSION}", "s"),
    ("Errors", f"{FAILED_TOOLS} | count_over_time() {BY_SESSION}", "short"),
)


def _joined(columns: Sequence[tuple[str, str, str]], extra: Sequence[Json] = ()) -> list[Json]:
    """Instant series -> one row per session: labels become columns, the queries join on the session id."""
    renames = {f"Value #{chr(ord('A') + i)}": title for i, (title, _, _) in enumerate(columns)}
    renames.update({SESSION: "Session", PROJECT: "Project", USER: "User", MODEL: "Model"})
    return [
        {"id": "labelsToFields", "options": {"mode": "columns"}},
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "indexByName": {SESSION: 0},
                                       "renameByName": renames}},
        *extra,
    ]


def _session_link() -> Json:
    """The session column opens Explore on that session's turns (one trace each)."""
    query = f'{{ {SESSION} = "${{__value.raw}}" && {SPAN_TYPE} = "turn" }}'
    return {"matcher": {"id": "byName", "options": "Session"},
            "properties": [{"id": "links", "value": [{
                "title": "Turns of this session",
                "url": "/explore?left=" + _explore_state(query),
            }]}]}


def _explore_state(traceql: str) -> str:
    # Grafana's Explore URL state; ${__url_time_range} keeps the dashboard's range. Quotes are JSON-escaped.
    escaped = traceql.replace('"', '\\"')
    return ('{"datasource":"otel-claude-tempo","queries":[{"refId":"A","queryType":"traceql","query":"'
            + escaped + '"}],"range":{"from":"${__from}","to":"${__to}"}}')


def sessions_dashboard(links: Sequence[Json]) -> Dashboard:
    error_rate = {"id": "calculateField", "options": {
        "alias": "Error rate", "mode": "binary",
        "binary": {"left": {"matcher": {"id": "byName", "options": "Errors"}}, "operator": "/",
                   "right": {"matcher": {"id": "byName", "options": "Tool calls"}}},
        "replaceFields": False}}
    items: list[Panel | Row] = [
        table("Sessions", [TraceMetricsQuery(q) for _, q, _ in SESSION_COLUMNS], width=24, height=10,
              sort_by="Turns", transformations=_joined(SESSION_COLUMNS),
              overrides=[unit_override("Cost", "currencyUSD", 4), _session_link()],
              description="One row per session seen in the time range: project, user and model, then its turns, "
                          "tool calls, failed tool calls, tokens (input includes cache reads and writes) and "
                          "list-price cost. Click a session id for its turns."),
        table("Tool latency and error rate per session", [TraceMetricsQuery(q) for _, q, _ in LATENCY_COLUMNS],
              width=24, height=8, sort_by="p95", transformations=_joined(LATENCY_COLUMNS, [error_rate]),
              overrides=[unit_override("p50", "s", 3), unit_override("p95", "s", 3),
                         unit_override("Error rate", "percentunit", 1), _session_link()],
              description="p50 and p95 of tool-call duration (PreToolUse to its end) and the share of tool "
                          "calls that failed, per session."),
        traces("Recent turns", TraceQuery(
            f"{TURNS} | select({SESSION}, {PROJECT}, {USER}, {MODEL}, {TURN_OUTCOME})", limit=50,
            table_type="spans", spans_per_trace=1), height=10,
            description="Turns with their start time and duration; each row opens the turn's trace (its tool "
                        "calls, subagents and LLM calls)."),
        traces("Ended sessions", TraceQuery(
            f'{{ {SPAN_TYPE} = "session" }} | select({SESSION}, {PROJECT}, {USER}, {MODEL})', limit=30,
            table_type="spans", spans_per_trace=1), height=8,
            description="Sessions that ended (SessionEnd), with their start and duration; the session span links "
                        "to its turns."),
    ]
    return Dashboard("otel-claude-sessions", "otel-claude / Sessions",
                     "Recent Claude Code sessions and their turns, from Tempo (TraceQL); each row opens its trace.",
                     items, (), links=links)
