"""The Team dashboard: cost and activity per team, user and project, the top tools and the error rates, across
every developer's agent (many agents through a gateway into Mimir, or one Prometheus scraping a few machines).

Every agent labels its series with `user_name` and `host_name`, and `claude_code_team` where the organisation
set a team at install (otel_claude/export/constant_labels.py), so these are plain `sum by` over the same
metrics the other dashboards read; a developer with no team shows under an empty team.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import promql as q
from dashboard_kit import Dashboard, Json, Panel, PromQuery, Row, Variable
from panel_types import bargauge, merge_by, stat, table, timeseries, unit_override

from otel_claude import semconv as sc

# otel_claude/semconv.py CC_TEAM as Prometheus stores it.
TEAM: Final = sc.prometheus_name(sc.CC_TEAM)
FILTERS: Final = q.SESSION_FILTERS  # project and user: every metric here carries both
TOP: Final = 20


def _sel(metric: str, **match: str) -> str:
    return q.sel(metric, FILTERS, **match)


def _active(by: str) -> str:
    """How many distinct values of `by` had any hook event in the range."""
    return f"count({q.total(_sel(q.HOOK_EVENTS), [by])} > 0)"


def _error_rate(by: Sequence[str]) -> str:
    return q.ratio(q.total(_sel(q.TOOL_CALLS, **{q.OUTCOME: "error"}), by), q.total(_sel(q.TOOL_CALLS), by))


def _per_group(label: str) -> list[PromQuery]:
    """Cost, turns, tool calls and tool error rate per value of `label`, merged into one table by the builder."""
    return [
        PromQuery(q.total(_sel(q.COST), [label]), instant=True, table=True),
        PromQuery(q.total(_sel(q.TURNS), [label]), instant=True, table=True),
        PromQuery(q.total(_sel(q.TOOL_CALLS), [label]), instant=True, table=True),
        PromQuery(_error_rate([label]), instant=True, table=True),
    ]


def _group_table(label: str, title: str, heading: str, description: str) -> Panel:
    renames = {label: heading, "Value #A": "Cost", "Value #B": "Turns", "Value #C": "Tool calls",
               "Value #D": "Tool error rate"}  # fmt: skip
    return table(title, _per_group(label), sort_by="Cost", description=description,
                 transformations=merge_by(label, renames),
                 overrides=[unit_override("Cost", "currencyUSD", 2), unit_override("Tool error rate", "percentunit", 1),
                            unit_override("Turns", "short", 0), unit_override("Tool calls", "short", 0)])  # fmt: skip


def team_dashboard(variables: Sequence[Variable], links: Sequence[Json]) -> Dashboard:
    cost = _sel(q.COST)
    items: list[Panel | Row] = [
        stat(
            "Active developers",
            PromQuery(_active(q.USER), instant=True),
            description="Users with at least one hook event in the time range.",
        ),
        stat(
            "Teams",
            PromQuery(_active(TEAM), instant=True),
            description="Teams set at install (otel-claude install --team); developers without one count once.",
        ),
        stat(
            "Cost",
            PromQuery(q.total(cost), instant=True),
            unit="currencyUSD",
            decimals=2,
            description="List-price cost over the time range, every developer.",
        ),
        stat(
            "Cost per active developer",
            PromQuery(q.ratio(q.total(cost), _active(q.USER)), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        stat("Turns", PromQuery(q.total(_sel(q.TURNS)), instant=True)),
        stat(
            "Tool error rate",
            PromQuery(_error_rate([]), instant=True),
            unit="percentunit",
            decimals=1,
            description="Tool calls that failed (PostToolUseFailure), of all tool calls.",
        ),
        bargauge(
            "Cost by team",
            PromQuery(q.total(cost, [TEAM]), q.legend(TEAM), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        bargauge(
            f"Cost by user (top {TOP})",
            PromQuery(f"topk({TOP}, {q.total(cost, [q.USER])})", q.legend(q.USER), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        bargauge(
            f"Cost by project (top {TOP})",
            PromQuery(f"topk({TOP}, {q.total(cost, [q.PROJECT])})", q.legend(q.PROJECT), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        _group_table(TEAM, "Cost and activity by team", "Team", "Over the time range."),
        _group_table(q.USER, "Cost and activity by developer", "User", "Over the time range."),
        Row("Tools"),
        bargauge(
            "Top tools",
            PromQuery(f"topk(10, {q.total(_sel(q.TOOL_CALLS), [q.TOOL])})", q.legend(q.TOOL), instant=True),
            width=12,
            description="The ten most called tools across every developer.",
        ),
        table(
            "Tool error rate by tool",
            [
                PromQuery(q.total(_sel(q.TOOL_CALLS), [q.TOOL]), instant=True, table=True),
                PromQuery(_error_rate([q.TOOL]), instant=True, table=True),
            ],
            sort_by="Error rate",
            transformations=merge_by(q.TOOL, {q.TOOL: "Tool", "Value #A": "Calls", "Value #B": "Error rate"}),
            overrides=[unit_override("Error rate", "percentunit", 1), unit_override("Calls", "short", 0)],
            description="Only tools with at least one failure have a rate.",
        ),
        Row("Over time"),
        timeseries(
            "Cost by team over time",
            [PromQuery(q.per_step(cost, [TEAM]), q.legend(TEAM))],
            unit="currencyUSD",
            bars=True,
            stacked=True,
            decimals=2,
            description="Cost per interval, by team.",
        ),
        timeseries(
            "Developers with a running agent",
            [PromQuery(f"count(count by ({q.USER}) ({_sel(q.HOOK_EVENTS)}))", "developers")],
            description="An agent runs from a developer's first hook event until an hour without one; its series "
            "are present meanwhile.",
        ),
    ]
    return Dashboard(
        "otel-claude-team",
        "otel-claude / Team",
        "Cost and activity per team, developer and project; the top tools and their error rates.",
        items,
        variables,
        links=links,
    )
