#!/usr/bin/env python3
"""Builds the provisioned Grafana dashboards (grafana/dashboards/*.json) from typed definitions.

    python grafana/build_dashboards.py          # rewrite the JSON files
    python grafana/build_dashboards.py --check  # exit 1 if a committed file differs from the builder's output

The JSON is committed (Grafana provisions files, not Python); tests/stack/test_dashboards.py fails when it
drifts from this builder. Queries use only names from otel_claude/semconv.py (see promql.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling builder modules, when run as a script

import promql as q
from dashboard_kit import Dashboard, Json, Panel, PromQuery, Row, Variable
from dashboards_ops import errors_dashboard, traces_dashboard
from dashboards_sessions import sessions_dashboard
from dashboards_team import team_dashboard
from panel_types import bargauge, merge_by, stat, table, timeseries, unit_override

from otel_claude import semconv as sc

OUT_DIR = Path(__file__).resolve().parent / "dashboards"

VARIABLES: dict[str, Variable] = {
    "model": Variable("model", "Model", q.TOKENS, q.MODEL),
    "project": Variable("project", "Project", q.HOOK_EVENTS, q.PROJECT),
    "tool": Variable("tool", "Tool", q.TOOL_CALLS, q.TOOL),
    "user": Variable("user", "User", q.HOOK_EVENTS, q.USER),
}
ALL_VARIABLES = tuple(VARIABLES.values())
# Each dashboard offers the filters its metrics carry: token and cost series have no tool label, tool series
# no model label, and a filter that cannot match would only hide data.
TOOL_VARIABLES = tuple(VARIABLES[name] for name in q.TOOL_FILTERS)
USAGE_VARIABLES = tuple(VARIABLES[name] for name in q.USAGE_FILTERS)
LINKS: tuple[Json, ...] = (
    {
        "asDropdown": False,
        "icon": "external link",
        "includeVars": True,
        "keepTime": True,
        "tags": ["otel-claude"],
        "targetBlank": False,
        "title": "otel-claude",
        "tooltip": "",
        "type": "dashboards",
        "url": "",
    },
)


def _tools(outcome: str | None = None) -> str:
    return q.sel(q.TOOL_CALLS, q.TOOL_FILTERS, **({q.OUTCOME: outcome} if outcome else {}))


def _usage(metric: str, **match: str) -> str:
    return q.sel(metric, q.USAGE_FILTERS, **match)


def overview_dashboard() -> Dashboard:
    errors = q.total(_tools("error"))
    calls = q.total(_tools())
    items = [
        stat(
            "Sessions",
            PromQuery(q.total(q.sel(q.SESSIONS, q.SESSION_FILTERS)), instant=True),
            description="Sessions started (startup, resume, clear, compact) in the time range.",
        ),
        stat(
            "Turns",
            PromQuery(q.total(q.sel(q.TURNS, q.SESSION_FILTERS)), instant=True),
            description="Turns (a prompt until Claude stops) that ended in the time range.",
        ),
        stat("Tool calls", PromQuery(calls, instant=True)),
        stat(
            "Tool error rate",
            PromQuery(q.ratio(errors, calls), instant=True),
            unit="percentunit",
            decimals=1,
            zero_if_empty=False,
            description="Tool calls that ended in PostToolUseFailure, of all tool calls.",
        ),
        stat(
            "Tokens",
            PromQuery(q.total(_usage(q.TOKENS)), instant=True),
            description="Input, output, cache read and cache write tokens.",
        ),
        stat(
            "Cost today",
            PromQuery(q.total(_usage(q.COST)), instant=True),
            unit="currencyUSD",
            decimals=2,
            time_from="now/d",
            width=2,
            description="List-price cost since midnight (browser time).",
        ),
        stat(
            "Cost",
            PromQuery(q.total(_usage(q.COST)), instant=True),
            unit="currencyUSD",
            decimals=2,
            width=2,
            description="List-price cost over the dashboard's time range.",
        ),
        timeseries(
            "Tool calls by outcome",
            [PromQuery(q.per_step(_tools(), [q.OUTCOME]), q.legend(q.OUTCOME))],
            bars=True,
            stacked=True,
            description="Tool calls per interval.",
        ),
        timeseries(
            "Tokens by kind",
            [PromQuery(q.per_step(_usage(q.TOKENS), [q.TOKEN_KIND]), q.legend(q.TOKEN_KIND))],
            bars=True,
            stacked=True,
        ),
        timeseries(
            "Cost by model",
            [PromQuery(q.per_step(_usage(q.COST), [q.MODEL]), q.legend(q.MODEL))],
            unit="currencyUSD",
            bars=True,
            stacked=True,
            decimals=2,
        ),
        timeseries(
            "Turns by outcome",
            [PromQuery(q.per_step(q.sel(q.TURNS, q.SESSION_FILTERS), [q.TURN_OUTCOME]), q.legend(q.TURN_OUTCOME))],
            bars=True,
            stacked=True,
        ),
    ]
    return Dashboard(
        "otel-claude-overview",
        "otel-claude / Overview",
        "Claude Code sessions, turns, tool calls, tokens and cost, from otel-claude's metrics.",
        items,
        ALL_VARIABLES,
        links=LINKS,
    )


def tools_dashboard() -> Dashboard:
    duration = q.sel(q.TOOL_DURATION_BUCKET, q.TOOL_FILTERS)
    percentiles = [
        PromQuery(q.total(_tools(), [q.TOOL]), instant=True, table=True),
        *(PromQuery(q.quantile(p, duration, [q.TOOL]), instant=True, table=True) for p in (0.5, 0.95, 0.99)),
    ]
    items = [
        bargauge(
            "Calls per tool",
            PromQuery(q.total(_tools(), [q.TOOL]), q.legend(q.TOOL), instant=True),
            description="Every finished, failed, denied or unfinished tool call, by tool.",
        ),
        table(
            "Duration per tool",
            percentiles,
            unit="s",
            sort_by="p95",
            width=16,
            description="Calls and p50/p95/p99 execution time (Claude Code's duration_ms: without the wait for "
            "your permission, which is below) over the time range.",
            transformations=merge_by(
                q.TOOL, {q.TOOL: "Tool", "Value #A": "Calls", "Value #B": "p50", "Value #C": "p95", "Value #D": "p99"}
            ),
            overrides=[unit_override("Calls", "short", 0)],
        ),
        bargauge(
            "Slowest tools (p95)",
            PromQuery(f"topk(10, {q.quantile(0.95, duration, [q.TOOL])})", q.legend(q.TOOL), instant=True),
            unit="s",
            width=8,
        ),
        timeseries(
            "Tool mix over time",
            [PromQuery(q.per_step(_tools(), [q.TOOL]), q.legend(q.TOOL))],
            bars=True,
            stacked=True,
            width=16,
            description="Tool calls per interval, by tool.",
        ),
        timeseries(
            "p95 duration by tool",
            [
                PromQuery(
                    q.quantile(0.95, duration, [q.TOOL], window="$__rate_interval"), q.legend(q.TOOL), exemplar=True
                )
            ],
            unit="s",
            description="Over a sliding window; exemplars link to the traces of slow calls.",
        ),
        bargauge(
            "Waiting for your permission (p95 by tool)",
            PromQuery(
                q.quantile(0.95, q.sel(q.PERMISSION_WAIT_BUCKET, q.TOOL_FILTERS), [q.TOOL]),
                q.legend(q.TOOL),
                instant=True,
            ),
            unit="s",
            width=12,
            description="PermissionRequest until your decision: time a call waited on you, not on the tool.",
        ),
        bargauge(
            "Permission decisions",
            PromQuery(
                q.total(q.sel(q.PERMISSION_WAIT_COUNT, q.TOOL_FILTERS), [q.PERMISSION_DECISION]),
                q.legend(q.PERMISSION_DECISION),
                instant=True,
            ),
            width=12,
            description="Permission requests by how they ended: granted, denied, or unknown.",
        ),
        timeseries(
            "Calls by agent",
            [PromQuery(q.per_step(_tools(), [q.AGENT_KIND]), q.legend(q.AGENT_KIND))],
            bars=True,
            stacked=True,
            description="Calls made by the main agent and by subagents.",
        ),
        bargauge(
            "Subagents by type",
            PromQuery(
                q.total(q.sel(q.SUBAGENTS, q.SESSION_FILTERS), [q.AGENT_NAME]), q.legend(q.AGENT_NAME), instant=True
            ),
            description="Subagents (Agent/Task tool) that finished, by subagent type.",
        ),
    ]
    return Dashboard(
        "otel-claude-tools",
        "otel-claude / Tool usage",
        "Which tools Claude Code calls, how often, and how long they take.",
        items,
        TOOL_VARIABLES,
        links=LINKS,
    )


def cost_dashboard() -> Dashboard:
    prompt_kinds = "~input|cache_read|cache_creation"
    cache_hit = q.ratio(
        q.total(_usage(q.TOKENS, **{q.TOKEN_KIND: "cache_read"})),
        q.total(_usage(q.TOKENS, **{q.TOKEN_KIND: prompt_kinds})),
    )
    items = [
        stat("Cost", PromQuery(q.total(_usage(q.COST)), instant=True), unit="currencyUSD", decimals=2),
        stat(
            "Cost today",
            PromQuery(q.total(_usage(q.COST)), instant=True),
            unit="currencyUSD",
            decimals=2,
            time_from="now/d",
        ),
        stat(
            "Burn rate (last hour)",
            PromQuery(q.total(_usage(q.COST), window="1h"), instant=True),
            unit="currencyUSD",
            decimals=2,
            description="Cost of the last 60 minutes.",
        ),
        stat(
            "Cache hit ratio",
            PromQuery(cache_hit, instant=True),
            unit="percentunit",
            decimals=1,
            zero_if_empty=False,
            description="Prompt tokens read from the cache, of all prompt tokens (uncached input + cache "
            "reads + cache writes).",
        ),
        stat("API calls", PromQuery(q.total(_usage(q.LLM_CALLS)), instant=True)),
        stat(
            "Unknown-model tokens",
            PromQuery(q.total(_usage(q.TOKENS, **{q.COST_KNOWN: "false"})), instant=True),
            description="Tokens of models with no price in the table: their cost is not in the totals.",
        ),
        bargauge(
            "Cost by model",
            PromQuery(q.total(_usage(q.COST), [q.MODEL]), q.legend(q.MODEL), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        bargauge(
            "Cost by project",
            PromQuery(q.total(_usage(q.COST), [q.PROJECT]), q.legend(q.PROJECT), instant=True),
            unit="currencyUSD",
            decimals=2,
        ),
        bargauge(
            "Tokens by kind", PromQuery(q.total(_usage(q.TOKENS), [q.TOKEN_KIND]), q.legend(q.TOKEN_KIND), instant=True)
        ),
        timeseries(
            "Burn rate",
            [PromQuery(q.rolling(_usage(q.COST), [q.MODEL]), q.legend(q.MODEL))],
            unit="currencyUSD",
            decimals=2,
            width=12,
            stacked=True,
            description="Cost of the trailing hour at each point in time, by model.",
        ),
        timeseries(
            "Tokens by kind over time",
            [PromQuery(q.per_step(_usage(q.TOKENS), [q.TOKEN_KIND]), q.legend(q.TOKEN_KIND))],
            bars=True,
            stacked=True,
        ),
        table(
            "Unknown-model tokens by model",
            [
                PromQuery(
                    q.total(_usage(q.TOKENS, **{q.COST_KNOWN: "false"}), [q.MODEL, q.TOKEN_KIND]),
                    instant=True,
                    table=True,
                )
            ],
            description="Models missing from the price table; add them to the prices override file.",
        ),
        bargauge(
            "Claude Code's own cost estimate by model",
            PromQuery(q.total(q.sel(q.REPORTED_COST, ("model",)), [q.MODEL]), q.legend(q.MODEL), instant=True),
            unit="currencyUSD",
            decimals=2,
            description="What Claude Code itself reported (transcript cost state), beside the list-price cost.",
        ),
        *native_panels(),
    ]
    return Dashboard(
        "otel-claude-cost",
        "otel-claude / Cost",
        "Cost and tokens by model and project, cache use.",
        items,
        USAGE_VARIABLES,
        links=LINKS,
    )


def native_panels() -> list[Panel | Row]:
    """Claude Code's own OTel metrics beside ours, with the drift between the two cost estimates.

    Both sources are shown, never added: their names differ (claude_code_* and otel_claude_*), so running both
    exports into one Collector counts nothing twice. Empty until the user enables Claude Code's native export.
    """
    ours = q.total(_usage(q.COST), [q.MODEL])
    native = q.relabel(q.total(q.native_sel(q.NATIVE_COST), [q.NATIVE_MODEL]), q.NATIVE_MODEL, q.MODEL)
    native_total = q.total(q.native_sel(q.NATIVE_COST))
    drift = f"({native_total} - {q.total(_usage(q.COST))}) / {q.total(_usage(q.COST))}"
    by_model_drift = f"(sum by ({q.MODEL}) ({native}) - {ours}) / {ours}"
    native_tokens = q.relabel(
        q.total(q.native_sel(q.NATIVE_TOKENS), [q.NATIVE_TOKEN_TYPE]),
        q.NATIVE_TOKEN_TYPE,
        q.TOKEN_KIND,
        q.NATIVE_TOKEN_KINDS,
    )
    return [
        Row("Claude Code's own telemetry (native OTel export), beside otel-claude's"),
        stat(
            "Claude Code's cost (native)",
            PromQuery(native_total, instant=True),
            unit="currencyUSD",
            decimals=2,
            zero_if_empty=False,
            width=6,
            description=f"{sc.NATIVE_COST_METRIC} from Claude Code's own OTel export (CLAUDE_CODE_ENABLE_TELEMETRY=1) "
            "into the same Collector. No data: that export is not enabled.",
        ),
        stat(
            "otel-claude's cost",
            PromQuery(q.total(_usage(q.COST)), instant=True),
            unit="currencyUSD",
            decimals=2,
            width=6,
            description="List-price cost from the transcripts, as on the rest of this dashboard.",
        ),
        stat(
            "Drift (native vs otel-claude)",
            PromQuery(drift, instant=True),
            unit="percentunit",
            decimals=1,
            zero_if_empty=False,
            width=6,
            description="(Claude Code's estimate - otel-claude's) / otel-claude's. Claude Code also counts calls "
            "no transcript records (query_source auxiliary); see docs/cost-differences.md.",
        ),
        stat(
            "Claude Code's tokens (native)",
            PromQuery(q.total(q.native_sel(q.NATIVE_TOKENS)), instant=True),
            zero_if_empty=False,
            width=6,
            description=f"{sc.NATIVE_TOKEN_METRIC}, every type (input, output, cacheRead, cacheCreation).",
        ),
        table(
            "Cost by model: Claude Code vs otel-claude",
            [
                PromQuery(ours, instant=True, table=True),
                PromQuery(f"sum by ({q.MODEL}) ({native})", instant=True, table=True),
                PromQuery(by_model_drift, instant=True, table=True),
            ],
            unit="currencyUSD",
            decimals=4,
            transformations=merge_by(
                q.MODEL, {q.MODEL: "Model", "Value #A": "otel-claude", "Value #B": "Claude Code", "Value #C": "Drift"}
            ),
            overrides=[unit_override("Drift", "percentunit", 1)],
            description="The same models from both sources; drift as in the stat above.",
        ),
        table(
            "Tokens by kind: Claude Code vs otel-claude",
            [
                PromQuery(q.total(_usage(q.TOKENS), [q.TOKEN_KIND]), instant=True, table=True),
                PromQuery(f"sum by ({q.TOKEN_KIND}) ({native_tokens})", instant=True, table=True),
            ],
            transformations=merge_by(
                q.TOKEN_KIND, {q.TOKEN_KIND: "Kind", "Value #A": "otel-claude", "Value #B": "Claude Code"}
            ),
            description="Claude Code's token types mapped to ours (cacheRead -> cache_read, cacheCreation -> "
            "cache_creation).",
        ),
    ]


def all_dashboards() -> list[Dashboard]:
    return [
        overview_dashboard(),
        tools_dashboard(),
        cost_dashboard(),
        errors_dashboard(TOOL_VARIABLES, LINKS),
        traces_dashboard(VARIABLES, LINKS),
        team_dashboard(tuple(VARIABLES[name] for name in q.SESSION_FILTERS), LINKS),
        sessions_dashboard(LINKS),
    ]


def render_all() -> dict[str, str]:
    """File name -> file text, exactly as committed."""
    return {f"{d.uid}.json": json.dumps(d.render(), indent=2, sort_keys=True) + "\n" for d in all_dashboards()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    rendered = render_all()
    stale = sorted(
        name
        for name, text in rendered.items()
        if not (OUT_DIR / name).is_file() or (OUT_DIR / name).read_text(encoding="utf-8") != text
    )
    extra = sorted(p.name for p in OUT_DIR.glob("*.json") if p.name not in rendered)
    if args.check:
        for name in stale + extra:
            print(f"out of date: grafana/dashboards/{name}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (OUT_DIR / name).write_text(rendered[name], encoding="utf-8")
    for name in extra:
        (OUT_DIR / name).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
