"""Typed building blocks for the provisioned Grafana dashboards: panels, queries, variables, layout.

Grafana's dashboard JSON is verbose and easy to get subtly wrong by hand (a datasource uid typed twice, two
panels with one id, an option name from another panel type). The builders here produce it from a few typed
values, so build_dashboards.py reads like a list of panels. The output follows Grafana 13's classic
dashboard schema (schemaVersion 42); tests/stack type-checks it against @grafana/schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Json = dict[str, Any]

SCHEMA_VERSION: Final = 42
# Fixed datasource uids, shared with grafana/provisioning/datasources/datasources.yaml.
PROMETHEUS_UID: Final = "otel-claude-prometheus"
TEMPO_UID: Final = "otel-claude-tempo"
PROMETHEUS: Final[Json] = {"type": "prometheus", "uid": PROMETHEUS_UID}
TEMPO: Final[Json] = {"type": "tempo", "uid": TEMPO_UID}
GRID_WIDTH: Final = 24


@dataclass(frozen=True)
class PromQuery:
    """One PromQL target. `instant` for stat, gauge and table panels; range queries draw time series."""

    expr: str
    legend: str = "__auto"
    instant: bool = False
    table: bool = False
    exemplar: bool = False

    def render(self, ref_id: str) -> Json:
        return {
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "exemplar": self.exemplar,
            "expr": self.expr,
            "format": "table" if self.table else "time_series",
            "instant": self.instant,
            "legendFormat": self.legend,
            "range": not self.instant,
            "refId": ref_id,
        }


@dataclass(frozen=True)
class TraceQuery:
    """One TraceQL search, shown as a table whose trace ids open Grafana's trace view."""

    traceql: str
    limit: int = 20
    spans_per_trace: int = 3
    table_type: str = "traces"  # traces | spans

    def render(self, ref_id: str) -> Json:
        return {
            "datasource": TEMPO,
            "filters": [],
            "limit": self.limit,
            "query": self.traceql,
            "queryType": "traceql",
            "refId": ref_id,
            "spss": self.spans_per_trace,
            "tableType": self.table_type,
        }


@dataclass(frozen=True)
class TraceMetricsQuery:
    """One TraceQL metrics query (`{...} | count_over_time() by (...)`), evaluated once over the time range
    (instant), so a table shows one value per group. Tempo 3 answers these from its live store and blocks."""

    traceql: str

    def render(self, ref_id: str) -> Json:
        return {
            "datasource": TEMPO,
            "filters": [],
            "metricsQueryType": "instant",
            "query": self.traceql,
            "queryType": "traceql",
            "refId": ref_id,
        }


Query = PromQuery | TraceQuery | TraceMetricsQuery


@dataclass(frozen=True)
class Panel:
    """A panel of a known type with its queries, size and the few options that differ between panels."""

    type: str
    title: str
    queries: Sequence[Query]
    width: int = 8
    height: int = 8
    description: str = ""
    unit: str = "short"
    decimals: int | None = None
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    overrides: Sequence[Json] = ()
    transformations: Sequence[Json] = ()
    time_from: str | None = None
    max_value: float | None = None

    @property
    def datasource(self) -> Json:
        return TEMPO if all(isinstance(q, TraceQuery | TraceMetricsQuery) for q in self.queries) else PROMETHEUS

    def render(self, panel_id: int, x: int, y: int) -> Json:
        defaults: Json = {"unit": self.unit, "custom": dict(self.custom)}
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.max_value is not None:
            defaults["max"] = self.max_value
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
        defaults["color"] = {"mode": "palette-classic" if self.type in ("timeseries", "piechart") else "thresholds"}
        out: Json = {
            "datasource": self.datasource,
            "description": self.description,
            "fieldConfig": {"defaults": defaults, "overrides": list(self.overrides)},
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "id": panel_id,
            "options": dict(self.options),
            "targets": [q.render(chr(ord("A") + i)) for i, q in enumerate(self.queries)],
            "title": self.title,
            "transformations": list(self.transformations),
            "type": self.type,
        }
        if self.time_from is not None:
            out["timeFrom"] = self.time_from
            out["hideTimeOverride"] = False
        return out


@dataclass(frozen=True)
class Row:
    """An (always expanded) row header; the panels after it are laid out below it."""

    title: str


@dataclass(frozen=True)
class Variable:
    """A multi-value Prometheus label variable; "All" is sent as `.*` so `=~"$var"` also matches no label."""

    name: str
    label: str
    metric: str
    label_name: str

    @property
    def query(self) -> str:
        return f"label_values({self.metric}, {self.label_name})"

    def render(self) -> Json:
        return {
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "datasource": PROMETHEUS,
            "hide": 0,
            "includeAll": True,
            "label": self.label,
            "multi": True,
            "name": self.name,
            "options": [],
            "query": {"qryType": 1, "query": self.query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2,
            "regex": "",
            "skipUrlSync": False,
            "sort": 1,
            "type": "query",
        }


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    items: Sequence[Panel | Row]
    variables: Sequence[Variable] = ()
    time_from: str = "now-24h"
    tags: Sequence[str] = ("otel-claude",)
    links: Sequence[Json] = ()

    def render(self) -> Json:
        panels: list[Json] = []
        x = y = row_height = 0
        for panel_id, item in enumerate(self.items, start=1):
            if isinstance(item, Row):
                y += row_height
                panels.append(_row(item, panel_id, y))
                x, y, row_height = 0, y + 1, 0
                continue
            if x + item.width > GRID_WIDTH:  # wrap to the next line of panels
                x, y, row_height = 0, y + row_height, 0
            panels.append(item.render(panel_id, x, y))
            x += item.width
            row_height = max(row_height, item.height)
        return {
            "annotations": {"list": []},
            "description": self.description,
            "editable": False,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "links": list(self.links),
            "panels": panels,
            "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION,
            "tags": list(self.tags),
            "templating": {"list": [v.render() for v in self.variables]},
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "timezone": "browser",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }


def _row(row: Row, panel_id: int, y: int) -> Json:
    return {
        "collapsed": False,
        "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
        "id": panel_id,
        "panels": [],
        "title": row.title,
        "type": "row",
    }
