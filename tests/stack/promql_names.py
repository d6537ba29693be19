"""The metric and label names a PromQL expression uses, and the names otel_claude/semconv.py allows.

Prometheus stores an instrument `otel_claude.tool.calls` as `otel_claude_tool_calls_total` (counter), a
histogram in seconds as `..._seconds_bucket/_sum/_count`, a USD counter as `..._USD_total`, and attribute
`gen_ai.tool.name` as label `gen_ai_tool_name`. Dashboards and rules may use only those names.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude import semconv as sc

PROMQL_WORDS: Final = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "topk",
        "bottomk",
        "quantile",
        "stddev",
        "stdvar",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "and",
        "or",
        "unless",
        "sum_over_time",
        "max_over_time",
        "min_over_time",
        "avg_over_time",
        "count_over_time",
        "last_over_time",
        "rate",
        "irate",
        "increase",
        "delta",
        "deriv",
        "histogram_quantile",
        "clamp_min",
        "clamp_max",
        "abs",
        "absent",
        "absent_over_time",
        "vector",
        "scalar",
        "time",
        "label_replace",
        "round",
        "sort",
        "sort_desc",
        "inf",
        "nan",
    }
)
_UNIT_SUFFIXES: Final = (
    "",
    "_total",
    "_USD_total",
    "_seconds_bucket",
    "_seconds_sum",
    "_seconds_count",
    "_bucket",
    "_sum",
    "_count",
    "_bytes",
)


def allowed_metric_names() -> set[str]:
    names: set[str] = set()
    for key, value in vars(sc).items():
        if key.startswith("METRIC_") and isinstance(value, str):
            base = value.replace(".", "_")
            names.update(base + suffix for suffix in _UNIT_SUFFIXES)
    # Claude Code's native metrics, as the Collector's prometheus exporter names them (unit and _total suffixes).
    names.add(sc.NATIVE_COST_METRIC.replace(".", "_") + "_USD_total")
    names.add(sc.NATIVE_TOKEN_METRIC.replace(".", "_") + "_tokens_total")
    return names


def allowed_label_names() -> set[str]:
    """Every semconv attribute name as a Prometheus label, plus the histogram bucket label."""
    labels = {"le", sc.NATIVE_MODEL, sc.NATIVE_TOKEN_TYPE}
    for key, value in vars(sc).items():
        if (
            key.isupper()
            and isinstance(value, str)
            and "." in value
            and not key.startswith(("METRIC_", "SPAN_", "NATIVE_"))
        ):
            labels.add(value.replace(".", "_"))
    return labels


def used_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) referenced by a PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # drop string literals: label values are not names
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations, Grafana's $__range included
    text = re.sub(r"\boffset\s+[$\w{}:]+", " ", text)  # offset durations, Grafana's $__interval included
    labels = set(re.findall(r"\b([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)(?!=)", text))
    labels -= {"bool"}
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        labels.update(name.strip() for name in group.split(",") if name.strip())
    text_no_groupings = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text_no_matchers = re.sub(r"\{[^}]*\}", " ", text_no_groupings)
    identifiers = set(re.findall(r"\b[A-Za-z_:][\w:]*", text_no_matchers))
    metrics = {name for name in identifiers if name not in PROMQL_WORDS}
    return metrics, labels
