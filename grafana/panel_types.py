"""Panel factories with complete, typed options for each panel type the dashboards use.

Each factory fills every option that Grafana 13's panel schema (@grafana/schema, panelcfg `Options`) marks as
required, so a panel renders the same whatever Grafana's defaults become; tests/stack type-checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from dashboard_kit import Json, Panel, PromQuery, Query, TraceQuery


def _reduce(calcs: Sequence[str] = ("lastNotNull",)) -> Json:
    return {"calcs": list(calcs), "fields": "", "values": False}


def _text_formatting() -> Json:
    return {"text": {}}


def stat(
    title: str,
    query: PromQuery,
    *,
    unit: str = "short",
    description: str = "",
    width: int = 4,
    decimals: int | None = None,
    time_from: str | None = None,
    zero_if_empty: bool = True,
) -> Panel:
    """A single number: the query's last value.

    A count with no series (no dead letter, no interruption ever) is 0, not Grafana's "No data": the query
    gets `or vector(0)`. Ratios pass zero_if_empty=False: with nothing to divide, "No data" is the honest answer.
    """
    if zero_if_empty:
        query = replace(query, expr=f"({query.expr}) or vector(0)")
    options: Json = {
        **_text_formatting(),
        "colorMode": "value",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "percentChangeColorMode": "standard",
        "reduceOptions": _reduce(),
        "showPercentChange": False,
        "textMode": "value",
        "wideLayout": True,
    }
    return Panel(
        "stat",
        title,
        [query],
        width=width,
        height=4,
        description=description,
        unit=unit,
        decimals=decimals,
        options=options,
        time_from=time_from,
    )


def timeseries(
    title: str,
    queries: Sequence[PromQuery],
    *,
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
    bars: bool = False,
    stacked: bool = False,
    decimals: int | None = None,
) -> Panel:
    """Lines, or stacked bars for counts per interval."""
    options: Json = {
        "legend": {
            "calcs": ["sum"] if bars else ["mean", "max"],
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
        },
        "tooltip": {"hideZeros": True, "mode": "multi", "sort": "desc"},
    }
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stacked else "none"},
    }
    return Panel(
        "timeseries",
        title,
        list(queries),
        width=width,
        height=height,
        description=description,
        unit=unit,
        decimals=decimals,
        options=options,
        custom=custom,
    )


def bargauge(
    title: str,
    query: Query,
    *,
    unit: str = "short",
    description: str = "",
    width: int = 8,
    height: int = 8,
    decimals: int | None = None,
    max_value: float | None = None,
) -> Panel:
    """One bar per series, largest first: totals by tool, model, project."""
    options: Json = {
        **_text_formatting(),
        "displayMode": "gradient",
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": False},
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": _reduce(),
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return Panel(
        "bargauge",
        title,
        [query],
        width=width,
        height=height,
        description=description,
        unit=unit,
        decimals=decimals,
        options=options,
        max_value=max_value,
    )


def table(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    description: str = "",
    width: int = 12,
    height: int = 8,
    sort_by: str | None = None,
    overrides: Sequence[Json] = (),
    transformations: Sequence[Json] = (),
    decimals: int | None = None,
) -> Panel:
    """Rows of values; for Tempo queries, rows of traces or spans with links to the trace view."""
    options: Json = {
        "cellHeight": "sm",
        "frameIndex": 0,
        "showHeader": True,
    }
    if sort_by is not None:
        options["sortBy"] = [{"desc": True, "displayName": sort_by}]
    custom: Json = {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True}
    return Panel(
        "table",
        title,
        list(queries),
        width=width,
        height=height,
        description=description,
        unit=unit,
        decimals=decimals,
        options=options,
        custom=custom,
        overrides=overrides,
        transformations=transformations,
    )


def traces(title: str, query: TraceQuery, *, description: str = "", width: int = 24, height: int = 10) -> Panel:
    """A TraceQL search as a table; each trace or span id opens the trace view."""
    return table(title, [query], description=description, width=width, height=height)


def merge_by(field_name: str, renames: dict[str, str]) -> list[Json]:
    """Transformations that join instant table queries (A, B, C...) on one label into one table."""
    return [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {"excludeByName": {"Time": True}, "indexByName": {field_name: 0}, "renameByName": renames},
        },
    ]


def unit_override(field_name: str, unit: str, decimals: int | None = None) -> Json:
    """A table column with its own unit (the panel default applies to the others)."""
    props: list[dict[str, Any]] = [{"id": "unit", "value": unit}]
    if decimals is not None:
        props.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byName", "options": field_name}, "properties": props}
