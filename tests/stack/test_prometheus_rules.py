"""Prometheus config and rules through the real promtool: syntax, and unit tests in which every alert fires on
a history that should page and stays quiet on one that should not."""

from __future__ import annotations

import subprocess

import pytest

from . import promql_names
from .prometheus_bin import promtool
from .stack_files import PROMETHEUS_CONFIG, RULE_FILES, RULE_TESTS, load_promql, load_yaml, rules

# Alerts about the Collector read its own metrics, which exist only in the docker-compose stack.
COLLECTOR_ALERTS = {
    "OtelClaudeCollectorDown",
    "OtelClaudeCollectorSpansStuck",
    "OtelClaudeCollectorQueueFull",
    "OtelClaudeCollectorDroppingSpans",
}
# The Collector's own span-exporter metrics as otelcol 0.159.0 exposes them on :8888: the names of
# exporter/exporterhelper/internal/metadata/generated_telemetry.go, with no `_total` and no unit suffix (the
# default pull reader sets without_type_suffix and without_units, re-applied when readers are configured:
# service/telemetry/otelconftelemetry/internal/migration/v0.3.0.go applyPrometheusDefaults), and the labels the
# exporter helper adds (exporter, data_type), plus job/instance from the scrape.
COLLECTOR_METRICS = {
    "up",
    "otelcol_exporter_sent_spans",
    "otelcol_exporter_send_failed_spans",
    "otelcol_exporter_enqueue_failed_spans",
    "otelcol_exporter_queue_size",
    "otelcol_exporter_queue_capacity",
}
COLLECTOR_LABELS = {"exporter", "data_type", "job", "instance"}
REQUIRED_ALERTS = {
    "OtelClaudeCostBurnHigh",
    "OtelClaudeToolErrorSpike",
    "OtelClaudeExportFailing",
    "OtelClaudeSpoolBacklogHigh",
    "OtelClaudeHookDropping",
    "OtelClaudeDeadLetters",
    *COLLECTOR_ALERTS,
}


# Recording rules that count a window exactly, as the dashboards do: (selector, window).
WINDOW_RULES = {
    "otel_claude:cost_usd:sum1h": ("otel_claude_cost_USD_total", "1h"),
    "otel_claude:tool_calls:sum15m": ("otel_claude_tool_calls_total", "15m"),
    "otel_claude:tool_errors:sum15m": ('otel_claude_tool_calls_total{claude_code_tool_outcome="error"}', "15m"),
    "otel_claude:export_failures:sum15m": ("otel_claude_export_failures_total", "15m"),
    "otel_claude:dead_letters:sum1h": ("otel_claude_dead_letters_total", "1h"),
    "otel_claude:spool_dropped:sum1h": ("otel_claude_spool_dropped_total", "1h"),
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.prometheus
def test_promtool_check_rules() -> None:
    assert RULE_FILES
    result = _run("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
def test_promtool_check_config() -> None:
    result = _run("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


@pytest.mark.prometheus
def test_every_alert_has_a_unit_test_and_passes() -> None:
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
    }
    alerts = {r["alert"] for r in rules() if "alert" in r}
    assert alerts == REQUIRED_ALERTS
    assert tested == alerts, f"alerts without a promtool unit test: {alerts - tested}"
    result = _run("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_use_semconv_names() -> None:
    metrics_allowed = promql_names.allowed_metric_names() | {r["record"] for r in rules() if "record" in r}
    labels_allowed = promql_names.allowed_label_names()
    for rule in rules():
        if rule.get("alert") in COLLECTOR_ALERTS:
            continue
        metrics, labels = promql_names.used_names(rule["expr"])
        name = rule.get("alert") or rule.get("record")
        assert metrics <= metrics_allowed, f"{name}: {sorted(metrics - metrics_allowed)}"
        assert labels <= labels_allowed, f"{name}: {sorted(labels - labels_allowed)}"


def test_collector_alerts_and_their_tests_use_the_pinned_collectors_names() -> None:
    for rule in rules():
        if rule.get("alert") in COLLECTOR_ALERTS:
            metrics, labels = promql_names.used_names(rule["expr"])
            assert metrics <= COLLECTOR_METRICS, f"{rule['alert']}: {sorted(metrics - COLLECTOR_METRICS)}"
            assert labels <= COLLECTOR_LABELS, f"{rule['alert']}: {sorted(labels - COLLECTOR_LABELS)}"
    series = [
        s["series"] for path in RULE_TESTS for test in load_yaml(path)["tests"] for s in test.get("input_series", [])
    ]
    collector_series = [s for s in series if s.startswith(("otelcol_", "up{"))]
    assert collector_series
    for text in collector_series:
        metrics, labels = promql_names.used_names(text)
        assert metrics <= COLLECTOR_METRICS and labels <= COLLECTOR_LABELS, text
        assert not text.split("{")[0].endswith("_total"), text


def test_alerts_say_what_to_do() -> None:
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_window_rules_count_like_the_dashboards() -> None:
    """Same formula as grafana/promql.py's total(), so an alert and a panel never disagree about a count."""
    promql = load_promql()
    recorded = {r["record"]: r["expr"] for r in rules() if "record" in r}
    for name, (selector, window) in WINDOW_RULES.items():
        expected = promql.total(selector, window=window)
        assert recorded[name].replace(" ", "") == expected.replace(" ", ""), name
