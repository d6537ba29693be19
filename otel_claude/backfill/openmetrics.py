"""Backfilled tokens and cost as OpenMetrics text with their original timestamps, for `promtool`.

The OTel metrics SDK stamps every point with the export time, so counters fed by backfill rise on the day backfill
runs. To see past days in Prometheus, this writes one cumulative sample per series at the end of each UTC day that
had usage, under the same metric and label names Prometheus stores for the live agent, plus
`claude_code_backfill="true"`, and the user imports the file:

    promtool tsdb create-blocks-from openmetrics backfill.om <prometheus data dir>

(see docs/backfill.md for the limits).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

from otel_claude import semconv as sc
from otel_claude.handoff import paths

_FILE_MODE = 0o600
# Counter families without `_total`: OpenMetrics adds it to the sample, as Prometheus stores the live series.
TOKENS_FAMILY = sc.prometheus_metric(sc.METRIC_TOKENS, sc.UNIT_TOKEN)
COST_FAMILY = sc.prometheus_metric(sc.METRIC_COST, sc.UNIT_USD)
_BACKFILL_LABEL = sc.prometheus_name(sc.CC_BACKFILL)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{sc.prometheus_name(k)}="{_escape(v)}"' for k, v in sorted(pairs))
    return "{" + body + "}"


class DailyTotals:
    """Per day, model, kind and label set: tokens and cost. Bounded by days x models x projects."""

    def __init__(self) -> None:
        self.tokens: dict[tuple[tuple[tuple[str, str], ...], date], float] = defaultdict(float)
        self.cost: dict[tuple[tuple[tuple[str, str], ...], date], float] = defaultdict(float)

    def add(self, day: date, labels: Mapping[str, str], kinds: Mapping[str, int], usd: float) -> None:
        """Adds one call's tokens by kind and its cost; `labels` are its counters' (attributes.model_labels)."""
        base = tuple(sorted(labels.items()))
        for kind, count in kinds.items():
            if count:
                self.tokens[((*base, (sc.CC_TOKEN_KIND, kind)), day)] += count
        self.cost[(base, day)] += usd

    def write(self, path: str) -> int:
        """Writes the OpenMetrics file; returns how many samples it holds."""
        lines: list[str] = []
        samples = 0
        for family, unit, help_text, values in (
            (TOKENS_FAMILY, "", "Tokens used by Claude Code's API calls (backfilled)", self.tokens),
            (COST_FAMILY, sc.UNIT_USD, "Cost of Claude Code's API calls at list prices (backfilled)", self.cost),
        ):
            lines.append(f"# TYPE {family} counter")
            if unit:
                lines.append(f"# UNIT {family} {unit}")
            lines.append(f"# HELP {family} {help_text}")
            series: dict[tuple[tuple[str, str], ...], list[tuple[date, float]]] = defaultdict(list)
            for (labels, day), value in values.items():
                series[labels].append((day, value))
            for labels, points in sorted(series.items()):
                text = _labels((*labels, (_BACKFILL_LABEL, "true")))
                running = 0.0
                for day, value in sorted(points):
                    running += value
                    # The last second of the day: the sample says "by the end of this day, this much".
                    stamp = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC).timestamp() - 1
                    lines.append(f"{family}_total{text} {running!r} {int(stamp)}")
                    samples += 1
        lines.append("# EOF")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, paths.FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return samples
