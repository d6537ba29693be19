"""Every dashboard query and rule, run by a real Prometheus against what the real hook and agent export after
replaying the fixture sessions, must return data, and the numbers must be those the fixtures contain.

The agent is the real one (`otel-claude replay ... --wait`), with its Prometheus endpoint scraped every second
and its OTLP export going to a receiver that refuses the first trace export (so the pipeline-health panels
have failures to show, and the agent has to retry from its spool). Grafana's variables are replaced as
Grafana would with "All" selected: $model etc. -> .*, $__rate_interval -> 1m, $__range -> 1h, $__interval -> 15s.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.flaky_otlp import FlakyOtlpReceiver
from support.native_metrics import NativeMetricsServer, cumulative_totals
from support.processes import metric_value, scrape, stop_agent
from support.prometheus import Prometheus, Sample, finite, free_port

from .fixture_counts import REPLAYED_SESSIONS, FixtureCounts, count, session_dir
from .prometheus_bin import prometheus as prometheus_binary
from .stack_files import (
    DATASOURCES,
    SUBSTITUTED_STEP_S,
    PanelQuery,
    label_values_query,
    load_yaml,
    prom_queries,
    rules,
    substitute,
    variable_queries,
)

pytestmark = pytest.mark.prometheus

# Panels that legitimately show nothing after the fixture replay; each reason is checked against the fixtures
# or the agent's output by test_empty_panels_are_empty_for_the_stated_reason.
EXPECTED_EMPTY = {
    "otel-claude-errors / Dead letters by reason / A": "every fixture record parses, so none is dead-lettered",
    "otel-claude-cost / Unknown-model tokens by model / A": "every model in the fixture transcripts has a price",
}
# Stat panels whose honest answer after the replay is 0 (they show 0, not "No data"), with the reason.
EXPECTED_ZERO = {
    "otel-claude-errors / Interrupted tool calls / A": "no PostToolUseFailure in the fixtures has is_interrupt",
    "otel-claude-errors / Unfinished tool calls / A": "the one PreToolUse without an end event in the fixtures "
    "asked for permission first, so it counts as denied",
    "otel-claude-errors / Dead letters / A": "every fixture record parses, so none is dead-lettered",
    "otel-claude-errors / Dropped by the hook / A": "the spool never reached its cap",
    "otel-claude-cost / Unknown-model tokens / A": "every model in the fixture transcripts has a price",
}
EMPTY_RECORDING_RULES = {"otel_claude:dead_letters:sum1h": "every fixture record parses"}
# The Collector's own metrics exist only in the docker-compose stack, not when Prometheus scrapes the agent.
DOCKER_ONLY_ALERTS = {
    "OtelClaudeCollectorDown",
    "OtelClaudeCollectorSpansStuck",
    "OtelClaudeCollectorQueueFull",
    "OtelClaudeCollectorDroppingSpans",
}
RANGE_WINDOW_S = 600
# Claude Code's own OTLP metrics of the replayed "main" session, served as the Collector would expose them.
NATIVE_METRICS = session_dir("main") / "otel" / "metrics.jsonl"


@dataclass(frozen=True)
class Replayed:
    prometheus: Prometheus
    at: float
    metrics_text: str
    counts: FixtureCounts
    receiver: FlakyOtlpReceiver

    def instant(self, expr: str) -> list[Sample]:
        return self.prometheus.query(substitute(expr), at=self.at)

    def by(self, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
        """Panel values keyed by the values of `labels`."""
        return {tuple(s.labels.get(label, "") for label in labels): s.value for s in finite(self.instant(expr))}

    def by_one(self, expr: str, label: str) -> dict[str, float]:
        return {key[0]: value for key, value in self.by(expr, label).items()}

    def scalar(self, expr: str) -> float:
        samples = finite(self.instant(expr))
        assert len(samples) == 1, f"{expr} gave {samples}"
        return samples[0].value


def _otel_claude() -> list[str]:
    script = Path(sys.executable).parent / "otel-claude"
    return [str(script)] if script.exists() else [sys.executable, "-m", "otel_claude"]


def _agent_env(tmp: Path, receiver: FlakyOtlpReceiver, prometheus_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") or k == "OTEL_CLAUDE_DEBUG"}
    env.update(
        HOME=str(tmp / "home"),
        OTEL_CLAUDE_STATE_DIR=str(tmp / "state"),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_PROMETHEUS_PORT=str(prometheus_port),
        # Frequent OTLP metric exports make `replay --wait` (which waits for one after the spool drained) quick.
        OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    return env


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    import subprocess

    prometheus_binary()
    tmp = tmp_path_factory.mktemp("replay")
    receiver = FlakyOtlpReceiver(refuse_first=1).start()
    agent_port = free_port()
    env = _agent_env(tmp, receiver, agent_port)
    native = NativeMetricsServer(NATIVE_METRICS).start()
    server = Prometheus(tmp / "prometheus", [f"127.0.0.1:{agent_port}", native.target], scrape_interval="1s").start()
    try:
        for session in REPLAYED_SESSIONS:
            directory = session_dir(session)
            result = subprocess.run(
                [
                    *_otel_claude(),
                    "replay",
                    str(directory / "hooks.jsonl"),
                    "--transcripts-root",
                    str(directory / "transcripts"),
                    "--wait",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, f"replay of {session} failed:\n{result.stdout}\n{result.stderr}"
        text = scrape(f"http://127.0.0.1:{agent_port}/metrics")
        # Prometheus has the agent's final numbers once these two agree with the agent's own endpoint.
        for metric in ("otel_claude_records_processed_total", "otel_claude_tool_calls_total"):
            server.wait_for_value(f"sum({metric})", metric_value(text, metric), timeout=30)
        server.wait_for_value("max(otel_claude_spool_backlog)", 0, timeout=30)  # a scrape after the spool drained
        # Evaluate at a whole minute at least 20 s ahead: subquery steps are aligned to multiples of their step
        # (15 s for the dashboards), so every query then has steps after the replayed data, including one
        # whose previous step (offset 15 s) already sees it. Prometheus evaluates a future instant from the
        # latest samples (5 min lookback).
        at = math.ceil((time.time() + 20) / 60) * 60
        yield Replayed(server, at, text, count(), receiver)
    finally:
        stop_agent(str(tmp / "state"), env)
        server.stop()
        receiver.stop()
        native.stop()


def _has_data(replay: Replayed, query: PanelQuery) -> bool:
    expr = substitute(query.expr)
    if query.instant:
        return bool(finite(replay.prometheus.query(expr, at=replay.at)))
    series = replay.prometheus.query_range(expr, replay.at - RANGE_WINDOW_S, replay.at, SUBSTITUTED_STEP_S)
    return any(math.isfinite(v) for s in series for _, v in s.values)


QUERIES = list(prom_queries())


@pytest.mark.parametrize("query", QUERIES, ids=[q.key for q in QUERIES])
def test_panel_query_returns_data(replayed: Replayed, query: PanelQuery) -> None:
    has_data = _has_data(replayed, query)  # runs the query: a PromQL error fails here whatever the panel
    if query.key in EXPECTED_EMPTY:
        pytest.skip(f"no data expected: {EXPECTED_EMPTY[query.key]}")
    assert has_data, f"{query.key} shows no data after the fixture replay:\n{substitute(query.expr)}"


def test_expected_empty_panels_exist() -> None:
    keys = {q.key for q in QUERIES}
    assert set(EXPECTED_EMPTY) | set(EXPECTED_ZERO) <= keys, (set(EXPECTED_EMPTY) | set(EXPECTED_ZERO)) - keys
    assert len(EXPECTED_EMPTY) <= 6, "exceptions should stay few"


@pytest.mark.parametrize("key", sorted(EXPECTED_ZERO))
def test_stat_panels_show_zero_rather_than_no_data(replayed: Replayed, key: str) -> None:
    query = next(q for q in QUERIES if q.key == key)
    assert query.panel_type == "stat"
    assert replayed.scalar(query.expr) == 0, EXPECTED_ZERO[key]


def _tool_span_tags(replay: Replayed) -> list[str]:
    """$__tags as Grafana expands it from each tool span: a matcher per configured tag the span has."""
    tags: list[str] = []
    for line in replay.metrics_text.splitlines():
        if line.startswith("otel_claude_tool_calls_total{") and "claude_code_project=" in line:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
            expanded = ",".join(f'{name}="{labels[name]}"' for name in ("gen_ai_tool_name", "claude_code_project"))
            if expanded not in tags:
                tags.append(expanded)
    assert tags, "no tool-call series with a project after the replay"
    return tags


def test_trace_to_metrics_queries_select_series_of_a_tool_span(replayed: Replayed) -> None:
    """Each 'Metrics for this span' query, expanded as for a tool span (tool name and project), selects series.

    Every selector that takes $__tags must match series of that tool span (a metric without one of the tag labels
    would make the link empty, as it once did for cost), and the whole query must evaluate. Whether a windowed
    rate() has a value depends on scrapes straddling the calls (a replay can finish within one scrape interval),
    so the data itself is asserted per selector, not per rate."""
    tempo = next(d for d in load_yaml(DATASOURCES)["datasources"] if d["type"] == "tempo")
    for tags in _tool_span_tags(replayed):
        for query in tempo["jsonData"]["tracesToMetrics"]["queries"]:
            expr = query["query"].replace("$$__tags", tags)
            replayed.prometheus.query(expr, at=replayed.at)  # raises on a query Prometheus refuses
            selectors = re.findall(r"([a-zA-Z_:][\w:]*)\{\$\$__tags\}", query["query"])
            assert selectors, query["name"]
            for metric in selectors:
                assert finite(replayed.prometheus.query(f"count({metric}{{{tags}}})", at=replayed.at)), (
                    f"{query['name']}: {metric} has no series for {tags}"
                )


def test_empty_panels_are_empty_for_the_stated_reason(replayed: Replayed) -> None:
    assert metric_value(replayed.metrics_text, "otel_claude_spool_dropped_total") == 0
    assert replayed.counts.interrupted == 0
    assert replayed.counts.outcome_total("unfinished") == 0
    assert metric_value(replayed.metrics_text, "otel_claude_dead_letters_total") == 0
    unknown = metric_value(replayed.metrics_text, "otel_claude_tokens_total", claude_code_cost_known="false")
    known = metric_value(replayed.metrics_text, "otel_claude_tokens_total", claude_code_cost_known="true")
    assert unknown == 0 and known > 0


@pytest.mark.parametrize("variable", list(variable_queries()), ids=lambda v: f"{v[0]}/{v[1]}")
def test_variable_offers_values(replayed: Replayed, variable: tuple[str, str, str]) -> None:
    _, _, definition = variable
    assert finite(replayed.instant(label_values_query(definition))), f"{definition} lists no values"


def _panel(dashboard: str, title: str, ref_id: str = "A") -> str:
    for query in QUERIES:
        if (query.dashboard, query.panel, query.ref_id) == (dashboard, title, ref_id):
            return query.expr
    raise KeyError(f"{dashboard} / {title} / {ref_id}")


def test_calls_per_tool_match_the_fixtures(replayed: Replayed) -> None:
    counts = replayed.counts
    expected = dict(counts.calls_by_tool)
    assert replayed.by_one(_panel("otel-claude-tools", "Calls per tool"), "gen_ai_tool_name") == expected
    assert replayed.scalar(_panel("otel-claude-overview", "Tool calls")) == sum(expected.values())
    # The bars over time count only growth between two samples, so they never add up to more than the totals.
    series = replayed.prometheus.query_range(
        substitute(_panel("otel-claude-tools", "Tool mix over time")),
        replayed.at - RANGE_WINDOW_S,
        replayed.at,
        SUBSTITUTED_STEP_S,
    )
    summed = {s.labels["gen_ai_tool_name"]: sum(v for _, v in s.values) for s in series}
    assert summed and all(0 <= n <= expected[tool] for tool, n in summed.items())


def test_outcomes_match_the_fixtures(replayed: Replayed) -> None:
    counts = replayed.counts
    unsuccessful = {k: v for k, v in counts.calls_by_tool_outcome.items() if k[1] != "success"}
    panel = _panel("otel-claude-errors", "Unsuccessful tool calls by tool and outcome")
    assert replayed.by(panel, "gen_ai_tool_name", "claude_code_tool_outcome") == unsuccessful
    assert replayed.scalar(_panel("otel-claude-errors", "Failed tool calls")) == counts.outcome_total("error")
    assert replayed.scalar(_panel("otel-claude-errors", "Permission denials")) == counts.outcome_total(
        "permission_denied"
    )
    total = sum(counts.calls_by_tool.values())
    rate = replayed.scalar(_panel("otel-claude-overview", "Tool error rate"))
    assert rate == pytest.approx(counts.outcome_total("error") / total)


def test_errors_by_tool_match_the_fixtures(replayed: Replayed) -> None:
    per_tool: Counter[str] = Counter()
    panel = _panel("otel-claude-errors", "Failed tool calls by tool and error type")
    for (tool, error_type), value in replayed.by(panel, "gen_ai_tool_name", "error_type").items():
        assert error_type, f"{tool}: failed call without error_type"
        per_tool[tool] += int(value)
    expected = {tool: n for (tool, outcome), n in replayed.counts.calls_by_tool_outcome.items() if outcome == "error"}
    assert dict(per_tool) == expected


def test_permission_requests_sessions_and_records_match_the_fixtures(replayed: Replayed) -> None:
    counts = replayed.counts
    panel = _panel("otel-claude-errors", "Permission requests by tool")
    assert replayed.by_one(panel, "gen_ai_tool_name") == dict(counts.permission_requests_by_tool)
    assert replayed.scalar(_panel("otel-claude-overview", "Sessions")) == counts.sessions
    assert sum(replayed.by_one(_panel("otel-claude-tools", "Subagents by type"), "gen_ai_agent_name").values()) == sum(
        counts.subagents_by_type.values()
    )
    assert replayed.scalar(_panel("otel-claude-errors", "Records processed")) == counts.records


def _agent_totals(text: str, metric: str, label: str) -> dict[str, float]:
    """Sum of `metric` per value of `label`, read from the agent's own /metrics text."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(metric + "{"):
            head, _, value = line.rpartition(" ")
            key = head.split(f'{label}="', 1)[1].split('"', 1)[0]
            totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def test_usage_panels_equal_the_agents_own_numbers(replayed: Replayed) -> None:
    """Tokens and cost come from the transcripts; the dashboards must show exactly what the agent counted."""
    text = replayed.metrics_text
    tokens = _agent_totals(text, "otel_claude_tokens_total", "claude_code_token_kind")
    assert set(tokens) == {"input", "output", "cache_read", "cache_creation"}
    assert replayed.by_one(_panel("otel-claude-cost", "Tokens by kind"), "claude_code_token_kind") == tokens
    assert replayed.scalar(_panel("otel-claude-overview", "Tokens")) == sum(tokens.values())
    cost = _agent_totals(text, "otel_claude_cost_USD_total", "gen_ai_request_model")
    shown = replayed.by_one(_panel("otel-claude-cost", "Cost by model"), "gen_ai_request_model")
    assert shown == pytest.approx(cost) and min(cost.values()) > 0
    assert replayed.scalar(_panel("otel-claude-cost", "Cost")) == pytest.approx(sum(cost.values()))
    ratio = replayed.scalar(_panel("otel-claude-cost", "Cache hit ratio"))
    prompt = tokens["input"] + tokens["cache_read"] + tokens["cache_creation"]
    assert ratio == pytest.approx(tokens["cache_read"] / prompt)
    calls = _agent_totals(text, "otel_claude_llm_calls_total", "gen_ai_request_model")
    assert replayed.scalar(_panel("otel-claude-cost", "API calls")) == sum(calls.values())


def test_export_failures_are_counted_and_retried(replayed: Replayed) -> None:
    assert replayed.receiver.refused == 1
    assert replayed.scalar(_panel("otel-claude-errors", "Export failures")) >= 1
    assert replayed.receiver.spans(), "the agent never delivered its spans after the refused export"
    assert replayed.scalar(_panel("otel-claude-errors", "Spool backlog")) == 0


def test_recording_rules_return_data(replayed: Replayed) -> None:
    for rule in rules():
        if "record" not in rule:
            continue
        samples = finite(replayed.prometheus.query(rule["expr"], at=replayed.at))
        if rule["record"] in EMPTY_RECORDING_RULES:
            assert not samples, f"{rule['record']} has data now: drop it from EMPTY_RECORDING_RULES"
            continue
        assert samples, f"recording rule {rule['record']} returns nothing after the replay"
    calls = replayed.prometheus.query(
        next(r["expr"] for r in rules() if r.get("record") == "otel_claude:tool_calls:sum15m"), at=replayed.at
    )
    assert calls[0].value == sum(replayed.counts.calls_by_tool.values())


def test_alert_expressions_run(replayed: Replayed) -> None:
    """Alerts compare recording rules with thresholds; here they must at least be valid and executable."""
    for rule in rules():
        if "alert" in rule and rule["alert"] not in DOCKER_ONLY_ALERTS:
            replayed.prometheus.query(rule["expr"], at=replayed.at)


def test_claude_codes_own_cost_beside_ours_with_the_drift(replayed: Replayed) -> None:
    """The Cost dashboard's native panels show Claude Code's own numbers and the drift from ours, exactly."""
    native = cumulative_totals(NATIVE_METRICS)
    native_cost = sum(v for (name, _), v in native.items() if name == "claude_code_cost_usage_USD_total")
    native_tokens = sum(v for (name, _), v in native.items() if name == "claude_code_token_usage_tokens_total")
    ours = sum(_agent_totals(replayed.metrics_text, "otel_claude_cost_USD_total", "gen_ai_request_model").values())
    assert native_cost > 0 and ours > 0
    assert replayed.scalar(_panel("otel-claude-cost", "Claude Code's cost (native)")) == pytest.approx(native_cost)
    assert replayed.scalar(_panel("otel-claude-cost", "Claude Code's tokens (native)")) == pytest.approx(native_tokens)
    drift = replayed.scalar(_panel("otel-claude-cost", "Drift (native vs otel-claude)"))
    assert drift == pytest.approx((native_cost - ours) / ours)
    by_kind = replayed.by_one(
        _panel("otel-claude-cost", "Tokens by kind: Claude Code vs otel-claude", "B"), "claude_code_token_kind"
    )
    assert set(by_kind) == {"input", "output", "cache_read", "cache_creation"}
    assert sum(by_kind.values()) == pytest.approx(native_tokens)
    by_model = replayed.by_one(
        _panel("otel-claude-cost", "Cost by model: Claude Code vs otel-claude", "B"), "gen_ai_request_model"
    )
    assert sum(by_model.values()) == pytest.approx(native_cost)
