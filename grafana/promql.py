"""PromQL for otel-claude's metrics: selectors with the dashboard filters, and exact counts over a range.

Metric and label names are the ones Prometheus stores for otel_claude/semconv.py's instruments (dots become
underscores, counters get `_total`, the unit `s` gives `_seconds`, `USD` gives `_USD`); they are the same
whether Prometheus scrapes the agent or the Collector.

Why not plain increase(): otel-claude's counters are low-volume and bursty, and many series are new (the first
call of a tool, a new project). increase() only measures change between samples, so it cannot see a series'
first value (a series born at 3 counts 0), and it extrapolates to the window edges (3 calls become 3.4).
The helpers here count exactly, and differently for the two kinds of series the agent exports:

- Counters survive agent restarts (otel_claude/export/counter_totals.py: a new agent carries on from the saved
  totals), so they only ever grow, even across the hours the agent is not running and its series are absent.
  `total()` is the value at the end of the window minus the last value before it, looked up in the series'
  history when it was absent at the window start (an agent idle at that moment), or zero for a series that
  never existed before: exact, however long the gaps.
- Histograms restart from zero with each agent. `histogram_total()` adds, step by step, what each bucket grew
  by since the previous step, or its whole value when it has no previous step or restarted from zero.

Time-series panels use `per_step()`, the growth between consecutive steps, which never over-counts: a series'
first value (and what happened while it was absent) shows in the totals, not as a bar.
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

# Claude Code's own (native) metrics, when its OTel export goes to the same Collector (semconv NATIVE_*): delta
# sums made cumulative by the Collector, one series per Claude Code session (their labels include session_id).
NATIVE_COST: Final = "claude_code_cost_usage_USD_total"
NATIVE_TOKENS: Final = "claude_code_token_usage_tokens_total"
NATIVE_MODEL: Final = "model"
NATIVE_TOKEN_TYPE: Final = "type"
NATIVE_TOKEN_KINDS: Final[Mapping[str, str]] = {"input": "input", "output": "output", "cacheRead": "cache_read",
                                                "cacheCreation": "cache_creation"}

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


# How far back `total()` looks for a counter's last value before a window starts, and at what resolution. The
# agent only exits after an hour without events, so a series' last hour is flat and an hourly grid finds its
# final value; a series unseen for longer than HISTORY is taken as new (its restored total counts once). Cost:
# one lookup per grid point and series per query, cheap at one developer's few hundred series.
HISTORY: Final = "30d:1h"


def _by(labels: Sequence[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def total(selector: str, by: Sequence[str] = (), window: str = RANGE) -> str:
    """Exact growth of a counter (a count, or USD for cost) over `window`, optionally per label."""
    # The value now, or where the series stopped if it is gone (an idle agent exits): found on a 15-minute grid
    # rather than with last_over_time over every raw sample of a long window.
    end = f"({selector} or last_over_time({selector}[{window}:15m]))"
    before = f"(({selector} offset {window}) or last_over_time({selector}[{HISTORY}] offset {window}))"
    # A result below zero means the counter was reset (the agent's state was wiped): count from zero then.
    return f"sum{_by(by)} ((({end} - {before}) >= 0) or {end})"


def increments(selector: str, step: str = STEP) -> str:
    """What each series grew by in the last `step`; a series with no previous step, or one that restarted
    from zero (a histogram of a new agent), counts in full."""
    return f"(({selector} - ({selector} offset {step})) >= 0 or ({selector} * 1))"


def histogram_total(bucket_selector: str, by: Sequence[str] = (), window: str = RANGE, step: str = STEP) -> str:
    """Exact per-bucket counts of a histogram over `window` (for quantiles)."""
    return f"sum{_by(by)} (sum_over_time({increments(bucket_selector, step)}[{window}:{step}]))"


def per_step(selector: str, by: Sequence[str] = (), step: str = STEP) -> str:
    """Growth per graph step, for bars over time; only between two samples, so never a spike after a gap."""
    return f"sum{_by(by)} (({selector} - ({selector} offset {step})) >= 0)"


def rolling(selector: str, by: Sequence[str] = (), window: str = "1h", step: str = STEP) -> str:
    """Growth over a trailing `window` at each graph step (e.g. cost of the last hour), from `per_step`."""
    return f"sum{_by(by)} (sum_over_time((({selector} - ({selector} offset {step})) >= 0)[{window}:{step}]))"


def ratio(numerator: str, denominator: str) -> str:
    return f"{numerator} / {denominator}"


def quantile(q: float, bucket_selector: str, by: Sequence[str] = (), window: str = RANGE, step: str = STEP) -> str:
    """The q-quantile of a histogram over `window`, from exact bucket counts."""
    labels = ["le", *by]
    return f"histogram_quantile({q}, {histogram_total(bucket_selector, labels, window, step)})"


def native_sel(metric: str) -> str:
    """A selector for Claude Code's native metrics with the dashboard's model filter (the only one they can take:
    their project and user are not labels we share)."""
    return f'{metric}{{{NATIVE_MODEL}=~"$model"}}'


def relabel(expr: str, source: str, target: str, mapping: Mapping[str, str] | None = None) -> str:
    """`expr` with label `target` set from `source` (its value as is, or mapped), so two sources that name the same
    thing differently (Claude Code's `model`, our `gen_ai_request_model`) can be joined or put side by side."""
    if mapping is None:
        return f'label_replace({expr}, "{target}", "$1", "{source}", "(.*)")'
    for value, mapped in mapping.items():
        expr = f'label_replace({expr}, "{target}", "{mapped}", "{source}", "{value}")'
    return expr


def legend(label: str) -> str:
    """A Grafana legend that shows one label's value, e.g. `{{gen_ai_tool_name}}`."""
    return "{{" + label + "}}"
