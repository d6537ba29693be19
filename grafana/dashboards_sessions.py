"""The Sessions dashboard: recent Claude Code sessions and their turns, read from Tempo with TraceQL.

No new storage: every span carries the session's attributes (session.id, project, model; user.name is a resource
attribute), so Tempo can group a session's turns, tool calls and LLM calls. Per-session numbers are TraceQL metrics
queries evaluated once over the time range (instant); Tempo's default limit for those is 24 hours
(query_frontend.metrics.max_duration), hence the dashboard's range. The turn and session lists are TraceQL searches
whose rows open the trace.

How Grafana 13 shapes the results (pkg/tsdb/tempo/traceql/metrics.go, TransformInstantMetricsResponse): one frame
per series, fields `time` and `value`, the series' attributes as labels on `value`, string label values quoted. So
each table is one query whose labels become columns: `labelsToFields` + `merge` for one value per session, and
`joinByLabels` where one query yields several values per session told apart by a label (`status` of tool calls,
`p` of quantiles). A second query in the same table would land in the same `value` column, so there is none.

Columns are documented in docs/stack.md; tests/stack checks every attribute named here against semconv and the
agent's resource.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard_kit import TEMPO_UID, Dashboard, Json, Panel, Row, TraceMetricsQuery, TraceQuery
from panel_types import bargauge, table, traces, unit_override

from otel_claude import semconv as sc

# Attribute references as TraceQL spells them; names from otel_claude/semconv.py.
SPAN_TYPE = f"span.{sc.CC_SPAN_TYPE}"
SESSION = f"span.{sc.SESSION_ID}"
PROJECT = f"span.{sc.CC_PROJECT}"
MODEL = f"span.{sc.GEN_AI_REQUEST_MODEL}"
USER = f"resource.{sc.USER_NAME}"
INPUT_TOKENS = f"span.{sc.GEN_AI_USAGE_INPUT_TOKENS}"  # prompt tokens, cache reads and writes included (GenAI semconv)
OUTPUT_TOKENS = f"span.{sc.GEN_AI_USAGE_OUTPUT_TOKENS}"
COST = f"span.{sc.CC_COST_USD}"
TURN_OUTCOME = f"span.{sc.CC_TURN_OUTCOME}"

TURNS = f'{{ {SPAN_TYPE} = "turn" }}'
TOOLS = f'{{ {SPAN_TYPE} = "tool" }}'
LLM_CALLS = f'{{ {SPAN_TYPE} = "llm" }}'

SESSIONS_QUERY = f"{TURNS} | count_over_time() by ({SESSION}, {PROJECT}, {USER}, {MODEL})"
TOOL_STATUS_QUERY = f"{TOOLS} | count_over_time() by ({SESSION}, status)"
LATENCY_QUERY = f"{TOOLS} | quantile_over_time(duration, .5, .95) by ({SESSION})"
COST_QUERY = f"{LLM_CALLS} | sum_over_time({COST}) by ({SESSION})"
INPUT_TOKENS_QUERY = f"{LLM_CALLS} | sum_over_time({INPUT_TOKENS}) by ({SESSION})"
OUTPUT_TOKENS_QUERY = f"{LLM_CALLS} | sum_over_time({OUTPUT_TOKENS}) by ({SESSION})"


# Tool-call span status -> column: the agent sets error on PostToolUseFailure and leaves every other call unset.
STATUS_COLUMNS = {"error": "Errors", "unset": "Without error"}


def _both(renames: dict[str, str]) -> dict[str, str]:
    """Grafana quotes string label values (`"error"`), and may not in a later version: rename both spellings."""
    return {**renames, **{f'"{key}"': value for key, value in renames.items()}}


def _organize(renames: dict[str, str]) -> Json:
    return {
        "id": "organize",
        "options": {
            "excludeByName": {"time": True, "Time": True},
            "indexByName": {SESSION: 0},
            "renameByName": renames,
        },
    }


def _one_value_per_session(value_title: str) -> list[Json]:
    names = {SESSION: "Session", PROJECT: "Project", USER: "User", MODEL: "Model", "value": value_title}
    return [{"id": "labelsToFields", "options": {"mode": "columns"}}, {"id": "merge", "options": {}}, _organize(names)]


def _values_by_label(label: str, renames: dict[str, str], extra: Sequence[Json] = ()) -> list[Json]:
    return [
        {"id": "joinByLabels", "options": {"value": label, "join": [SESSION]}},
        _organize(_both({SESSION: "Session", **renames})),
        *extra,
    ]


def _session_link() -> Json:
    """The session column opens Explore on that session's turns (one trace each): an internal data link, which
    Grafana turns into an Explore URL itself, with the panel's time range."""
    # No quotes around the value: Grafana's Tempo plugin already quotes string label values (`"c77f..."`), which
    # is what the table cells hold.
    query = f'{{ {SESSION} = ${{__value.raw}} && {SPAN_TYPE} = "turn" }}'
    return {
        "matcher": {"id": "byName", "options": "Session"},
        "properties": [
            {
                "id": "links",
                "value": [
                    {
                        "title": "Turns of this session",
                        "url": "",
                        "internal": {
                            "datasourceUid": TEMPO_UID,
                            "datasourceName": "Tempo",
                            "query": {
                                "refId": "A",
                                "queryType": "traceql",
                                "query": query,
                                "limit": 50,
                                "tableType": "traces",
                            },
                        },
                    }
                ],
            }
        ],
    }


def sessions_dashboard(links: Sequence[Json]) -> Dashboard:
    tool_calls_and_rate = [
        {
            "id": "calculateField",
            "options": {
                "alias": "Tool calls",
                "mode": "reduceRow",
                "reduce": {"reducer": "sum", "include": ["Errors", "Without error"]},
                "replaceFields": False,
            },
        },
        {
            "id": "calculateField",
            "options": {
                "alias": "Error rate",
                "mode": "binary",
                "replaceFields": False,
                "binary": {
                    "left": {"matcher": {"id": "byName", "options": "Errors"}},
                    "operator": "/",
                    "right": {"matcher": {"id": "byName", "options": "Tool calls"}},
                },
            },
        },
    ]
    items: list[Panel | Row] = [
        table(
            "Sessions",
            [TraceMetricsQuery(SESSIONS_QUERY)],
            width=24,
            height=9,
            sort_by="Turns",
            transformations=_one_value_per_session("Turns"),
            overrides=[_session_link()],
            description="One row per session seen in the time range: its project, user and model, and how many "
            "turns it had. Click a session id for its turns.",
        ),
        table(
            "Tool calls, errors and error rate per session",
            [TraceMetricsQuery(TOOL_STATUS_QUERY)],
            width=12,
            sort_by="Tool calls",
            transformations=_values_by_label("status", STATUS_COLUMNS, tool_calls_and_rate),
            overrides=[unit_override("Error rate", "percentunit", 1), _session_link()],
            description="Tool-call spans per session by span status: error for PostToolUseFailure, unset "
            "otherwise; the error rate is errors over all calls.",
        ),
        table(
            "Tool latency per session (p50, p95)",
            [TraceMetricsQuery(LATENCY_QUERY)],
            unit="s",
            width=12,
            sort_by="p95",
            transformations=_values_by_label("p", {"0.5": "p50", "0.95": "p95"}),
            overrides=[_session_link()],
            decimals=3,
            description="p50 and p95 of tool-call duration (PreToolUse to its end), per session.",
        ),
        bargauge(
            "Cost per session",
            TraceMetricsQuery(COST_QUERY),
            unit="currencyUSD",
            decimals=4,
            description=f"Sum of {sc.CC_COST_USD} over the session's LLM calls (list price).",
        ),
        bargauge(
            "Input tokens per session",
            TraceMetricsQuery(INPUT_TOKENS_QUERY),
            description=f"Sum of {sc.GEN_AI_USAGE_INPUT_TOKENS}: uncached input plus cache reads and writes.",
        ),
        bargauge(
            "Output tokens per session",
            TraceMetricsQuery(OUTPUT_TOKENS_QUERY),
            description=f"Sum of {sc.GEN_AI_USAGE_OUTPUT_TOKENS}.",
        ),
        traces(
            "Recent turns",
            TraceQuery(
                f"{TURNS} | select({SESSION}, {PROJECT}, {USER}, {MODEL}, {TURN_OUTCOME})",
                limit=50,
                table_type="spans",
                spans_per_trace=1,
            ),
            height=10,
            description="Turns with their start time and duration; each row opens the turn's trace (its tool "
            "calls, subagents and LLM calls).",
        ),
        traces(
            "Ended sessions",
            TraceQuery(
                f'{{ {SPAN_TYPE} = "session" }} | select({SESSION}, {PROJECT}, {USER}, {MODEL})',
                limit=30,
                table_type="spans",
                spans_per_trace=1,
            ),
            height=8,
            description="Sessions that ended (SessionEnd), with their start time and duration.",
        ),
    ]
    return Dashboard(
        "otel-claude-sessions",
        "otel-claude / Sessions",
        "Recent Claude Code sessions and their turns, from Tempo (TraceQL); each row opens its trace.",
        items,
        (),
        links=links,
    )
