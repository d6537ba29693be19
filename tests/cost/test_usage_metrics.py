"""Token and cost metrics as a Prometheus scrape would see them, from an injected MeterProvider."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from cost.support import MAIN_TRANSCRIPT
from otel_claude import semconv as sc
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.model import Usage
from otel_claude.transcripts.prices import bundled_table
from otel_claude.transcripts.reader import Cursor, read_all_new
from otel_claude.transcripts.usage_metrics import UsageMetrics

LABELS = {sc.CC_PROJECT: "project", sc.USER_NAME: "dev", sc.SESSION_ID: "must-not-become-a-label"}


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def _sum(points: list[NumberDataPoint], **labels: str) -> float:
    return sum(p.value for p in points if all(p.attributes.get(k) == v for k, v in labels.items()))


def test_fixture_turn_metrics(meter_provider: MeterProvider, metric_reader: InMemoryMetricReader) -> None:
    metrics = UsageMetrics(meter_provider.get_meter("test"))
    table = bundled_table()
    calls = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT)), Dedup()).calls
    for call in calls:
        metrics.record(call, cost_of_call(call.usage, call.model, call.timestamp_ns, table), LABELS)
    points = _points(metric_reader)
    tokens = points[sc.METRIC_TOKENS]
    by_kind = {kind: _sum(tokens, **{sc.CC_TOKEN_KIND: kind}) for kind in sc.TOKEN_KINDS}
    assert by_kind == {"input": 2997, "output": 341, "cache_read": 73607, "cache_creation": 12818}
    assert all(p.attributes[sc.GEN_AI_REQUEST_MODEL] == "claude-opus-5-5" for p in tokens)
    assert all(sc.SESSION_ID not in p.attributes for name in points for p in points[name])
    cost = points[sc.METRIC_COST]
    expected = (2997 * 4 + 341 * 20 + 73607 * 0.2 + 12818 * 8) / 1e6
    assert _sum(cost) == pytest.approx(expected) and cost[0].attributes[sc.CC_COST_KNOWN] == "true"
    assert _sum(points[sc.METRIC_LLM_CALLS]) == 7
    histogram: list[HistogramDataPoint] = points[sc.METRIC_GEN_AI_TOKEN_USAGE]
    inputs = [p for p in histogram if p.attributes[sc.GEN_AI_TOKEN_TYPE] == "input"]
    assert inputs[0].count == 7 and inputs[0].sum == 2997 + 73607 + 12818
    assert tuple(inputs[0].explicit_bounds) == tuple(float(b) for b in sc.TOKEN_USAGE_BUCKETS)
    assert inputs[0].attributes[sc.GEN_AI_OPERATION_NAME] == "chat"


def test_unknown_model_counts_tokens_and_a_zero_cost_marked_unknown(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    metrics = UsageMetrics(meter_provider.get_meter("test"))
    call = replace(read_all_new(Cursor(path=str(MAIN_TRANSCRIPT))).calls[0], model="claude-nova-9")
    metrics.record(call, cost_of_call(call.usage, call.model, call.timestamp_ns, bundled_table()), LABELS)
    points = _points(metric_reader)
    assert _sum(points[sc.METRIC_TOKENS], **{sc.CC_TOKEN_KIND: "input"}) == 2496
    cost = points[sc.METRIC_COST]
    assert len(cost) == 1 and cost[0].value == 0 and cost[0].attributes[sc.CC_COST_KNOWN] == "false"


def test_replacing_line_adds_only_the_difference(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    metrics = UsageMetrics(meter_provider.get_meter("test"))
    table = bundled_table()
    base = read_all_new(Cursor(path=str(MAIN_TRANSCRIPT))).calls[0]
    placeholder = replace(base, usage=Usage(input_tokens=1, output_tokens=1))
    final = replace(base, usage=Usage(input_tokens=100, output_tokens=50), replaces=placeholder.usage)
    first_cost = cost_of_call(placeholder.usage, base.model, base.timestamp_ns, table)
    metrics.record(placeholder, first_cost, LABELS)
    metrics.record(final, cost_of_call(final.usage, base.model, base.timestamp_ns, table), LABELS, first_cost)
    points = _points(metric_reader)
    assert _sum(points[sc.METRIC_TOKENS], **{sc.CC_TOKEN_KIND: "input"}) == 100
    assert _sum(points[sc.METRIC_TOKENS], **{sc.CC_TOKEN_KIND: "output"}) == 50
    assert _sum(points[sc.METRIC_COST]) == pytest.approx((100 * 4 + 50 * 20) / 1e6)
    assert _sum(points[sc.METRIC_LLM_CALLS]) == 1


def test_reported_cost_counter_follows_claude_codes_cost_state(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    metrics = UsageMetrics(meter_provider.get_meter("test"))
    for state in read_all_new(Cursor(path=str(MAIN_TRANSCRIPT))).cost_states:
        metrics.record_reported(state, LABELS)
    reported = _points(metric_reader)[sc.METRIC_REPORTED_COST]
    assert _sum(reported, **{sc.GEN_AI_REQUEST_MODEL: "claude-opus-5-5"}) == pytest.approx(0.2098892)
    assert all(sc.SESSION_ID not in p.attributes for p in reported)
