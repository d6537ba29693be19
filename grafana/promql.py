"""PromQL for otel-claude's metrics: selectors with the dashboard filters, and exact counts over a range.

Metric and label names are the ones Prometheus stores for otel_claude/semconv.py's instruments (dots become
underscores, counters get `_total`, the unit `s` gives `_seconds`, `USD` gives `_USD`); they are the same
whether Prometheus scrapes the agent or the Collector.

Why not plain increase(): otel-claude's counters are low-volume and bursty, and their series are often new
(the first call of a tool, a new project, a restarted agent). increase() cannot see a series' first value
(it only measures change between samples, so a series born at 3 counts 0) and it extrapolates to the window
edges (3 calls become 3.4). `increments()` below counts what happened in each step exactly: the change since
the previous step, or the whole value for a series that did not exist one step earlier or restarted from zero
(the agent restarts after idling). Summed with sum_over_time over a subquery it gives exact totals for the
dashboard's time range, which the tests compare with what the fixture sessions contain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

# Prometheus names of the metrics the dashboards read (otel_claude/semconv.py METRIC_*).
HOOK_EVENTS: Final = "otel_claude_hook_events_total"
TOOL_CALLS: Final = "otel_claude_tool_calls_total"
TOOL_DURATION_BUCKET: Final = "otel_claude_tool_duration_seconds_bucket"
TOOL_ERRORS: Final = "otel_claude_tool_errors_total"
SESSIONS: Final = "otel_claude_sessions_total"
TURNS: Final = "otel_claude_turns_total"
TURN_DURATION_BUCKET: Final = "otel_claude_turn_duration_seconds_bucket"
SUBAGENTS: Final = "otel_claude_subagents_total"
COMPACTIONS: Final = "otel_claude_compactions_total"
PERMISSION_REQUESTS: Final = "otel_claude_permission_requests_total"
TOKENS: Final = "otel_claude_tokens_total"
COST: Final = "otel_claude_cost_USD_total"
LLM_CALLS: Final = "otel_claude_llm_calls_total"
REPORTED_COST: Final = "otel_claude_reported_cost_USD_total"
SPOOL_BACKLOG: Final = "otel_claude_spool_backlog"
SPOOL_DROPPED: Final = "otel_claude_spool_dropped_total"
RECORDS_PROCESSED: Final = "otel_claude_records_processed_total"
DEAD_LETTERS: Final = "otel_claude_dead_letters_total"
EXPORT_FAILURES: Final = "otel_claude_export_failures_total"

# Label names (semconv attribute names with dots as underscores).
TOOL: Final = "gen_ai_tool_name"
OUTCOME: Final = "claude_code_tool_outcome"
AGENT_KIND: Final = "claude_code_agent_kind"
PROJECT: Final = "claude_code_project"
USER: Final = "user_name"
MODEL: Final = "gen_ai_request_model"
TOKEN_KIND: Final = "claude_code_token_kind"
COST_KNOWN: Final = "claude_code_cost_known"
ERROR_TYPE: Final = "error_type"
TURN_OUTCOME: Final = "claude_code_turn_outcome"
SESSION_SOURCE: Final = "claude_code_session_source"
AGENT_NAME: Final = "gen_ai_agent_name"
DEAD_LETTER_REASON: Final = "claude_code_dead_letter_reason"
EXPORT_SIGNAL: Final = "claude_code_export_signal"

# Dashboard variable -> the label it filters.
FILTER_LABELS: Final[Mapping[str, str]] = {"model": MODEL, "project": PROJECT, "tool": TOOL, "user": USER}
# Which filters apply to which family of metrics (a filter on a label a metric lacks would hide everything).
TOOL_FILTERS: Final = ("project", "tool", "user")
USAGE_FILTERS: Final = ("model", "project", "user")
SESSION_FILTERS: Final = ("project", "user")

STEP: Final = "$__interval"
RANGE: Final = "$__range"


def sel(metric: str, filters: Sequence[str] = (), **match: str) -> str:
    """`metric{label="value",...,label=~"$var"}`: fixed matchers, then one regex matcher per dashboard filter.

    A value starting with `~` or `!` becomes a regex or negative matcher (`outcome="!success"` -> `!=`).
    """
    parts: list[str] = []
    for label, value in match.items():
        if value.startswith("~"):
            parts.append(f'{label}=~"{value[1:]}"')
        elif value.startswith("!"):
            parts.append(f'{label}!="{value[1:]}"')
        else:
            parts.append(f'{label}="{value}"')
    parts.extend(f'{FILTER_LABELS[name]}=~"${name}"' for name in filters)
    return f"{metric}{{{','.join(parts)}}}"


def increments(selector: str, step: str = STEP) -> str:
    """What each counter series grew by in the last `step`, new series and restarts counted from zero."""
    return f"(({selector} - ({selector} offset {step})) >= 0 or ({selector} * 1))"


def _by(labels: Sequence[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def total(selector: str, by: Sequence[str] = (), window: str = RANGE, step: str = STEP) -> str:
    """Exact count (or sum, for cost) over `window`, optionally per label."""
    return f"sum{_by(by)} (sum_over_time({increments(selector, step)}[{window}:{step}]))"


def per_step(selector: str, by: Sequence[str] = (), step: str = STEP) -> str:
    """Count per graph step, for bar charts over time."""
    return f"sum{_by(by)} ({increments(selector, step)})"


def ratio(numerator: str, denominator: str) -> str:
    return f"{numerator} / {denominator}"


def quantile(q: float, bucket_selector: str, by: Sequence[str] = (), window: str = RANGE, step: str = STEP) -> str:
    """The q-quantile of a histogram over `window`, from exact bucket counts."""
    labels = ["le", *by]
    return f"histogram_quantile({q}, {total(bucket_selector, labels, window, step)})"
