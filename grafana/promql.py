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
from functools import partial
from typing import Final

from otel_claude import semconv as sc

# Prometheus names of the metrics the dashboards read, derived from otel_claude/semconv.py (one home per name).
_counter = partial(sc.prometheus_metric, counter=True)
HOOK_EVENTS: Final = _counter(sc.METRIC_HOOK_EVENTS)
TOOL_CALLS: Final = _counter(sc.METRIC_TOOL_CALLS)
TOOL_DURATION_BUCKET: Final = sc.prometheus_metric(sc.METRIC_TOOL_DURATION, sc.UNIT_SECONDS) + "_bucket"
PERMISSION_WAIT_BUCKET: Final = sc.prometheus_metric(sc.METRIC_PERMISSION_WAIT, sc.UNIT_SECONDS) + "_bucket"
PERMISSION_WAIT_COUNT: Final = sc.prometheus_metric(sc.METRIC_PERMISSION_WAIT, sc.UNIT_SECONDS) + "_count"
TOOL_ERRORS: Final = _counter(sc.METRIC_TOOL_ERRORS)
SESSIONS: Final = _counter(sc.METRIC_SESSIONS)
TURNS: Final = _counter(sc.METRIC_TURNS)
TURN_DURATION_BUCKET: Final = sc.prometheus_metric(sc.METRIC_TURN_DURATION, sc.UNIT_SECONDS) + "_bucket"
SUBAGENTS: Final = _counter(sc.METRIC_SUBAGENTS)
COMPACTIONS: Final = _counter(sc.METRIC_COMPACTIONS)
PERMISSION_REQUESTS: Final = _counter(sc.METRIC_PERMISSION_REQUESTS)
TOKENS: Final = _counter(sc.METRIC_TOKENS, sc.UNIT_TOKEN)
COST: Final = _counter(sc.METRIC_COST, sc.UNIT_USD)
LLM_CALLS: Final = _counter(sc.METRIC_LLM_CALLS)
REPORTED_COST: Final = _counter(sc.METRIC_REPORTED_COST, sc.UNIT_USD)
SPOOL_BACKLOG: Final = sc.prometheus_metric(sc.METRIC_SPOOL_BACKLOG)
SPOOL_DROPPED: Final = _counter(sc.METRIC_SPOOL_DROPPED)
RECORDS_PROCESSED: Final = _counter(sc.METRIC_RECORDS_PROCESSED)
DEAD_LETTERS: Final = _counter(sc.METRIC_DEAD_LETTERS)
EXPORT_FAILURES: Final = _counter(sc.METRIC_EXPORT_FAILURES)

# Claude Code's own (native) metrics, when its OTel export goes to the same Collector (semconv NATIVE_*): delta
# sums made cumulative by the Collector, one series per Claude Code session (their labels include session_id).
NATIVE_COST: Final = sc.prometheus_metric(sc.NATIVE_COST_METRIC, sc.UNIT_USD, counter=True)
NATIVE_TOKENS: Final = sc.prometheus_metric(sc.NATIVE_TOKEN_METRIC, sc.NATIVE_TOKEN_UNIT, counter=True)
NATIVE_MODEL: Final = "model"
NATIVE_TOKEN_TYPE: Final = "type"
NATIVE_TOKEN_KINDS: Final[Mapping[str, str]] = {
    "input": "input",
    "output": "output",
    "cacheRead": "cache_read",
    "cacheCreation": "cache_creation",
}

# Label names (semconv attribute names with dots as underscores).
TOOL: Final = sc.prometheus_name(sc.GEN_AI_TOOL_NAME)
PERMISSION_DECISION: Final = sc.prometheus_name(sc.CC_PERMISSION_DECISION)
OUTCOME: Final = sc.prometheus_name(sc.CC_TOOL_OUTCOME)
AGENT_KIND: Final = sc.prometheus_name(sc.CC_AGENT_KIND)
PROJECT: Final = sc.prometheus_name(sc.CC_PROJECT)
USER: Final = sc.prometheus_name(sc.USER_NAME)
MODEL: Final = sc.prometheus_name(sc.GEN_AI_REQUEST_MODEL)
TOKEN_KIND: Final = sc.prometheus_name(sc.CC_TOKEN_KIND)
COST_KNOWN: Final = sc.prometheus_name(sc.CC_COST_KNOWN)
ERROR_TYPE: Final = sc.prometheus_name(sc.ERROR_TYPE)
TURN_OUTCOME: Final = sc.prometheus_name(sc.CC_TURN_OUTCOME)
SESSION_SOURCE: Final = sc.prometheus_name(sc.CC_SESSION_SOURCE)
AGENT_NAME: Final = sc.prometheus_name(sc.GEN_AI_AGENT_NAME)
DEAD_LETTER_REASON: Final = sc.prometheus_name(sc.CC_DEAD_LETTER_REASON)
EXPORT_SIGNAL: Final = sc.prometheus_name(sc.CC_EXPORT_SIGNAL)

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
