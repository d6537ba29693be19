"""Histograms aggregated in our process give the points the SDK would, and reach the exporter beside the SDK's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_claude import semconv as sc
from otel_claude.export.aggregated_histogram import AggregatedHistograms, with_aggregated

BOUNDS = (1, 4, 16, 64, 256)
CUMULATIVE, DELTA = AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA
# Values on, between and past the boundaries, ints and floats, and zero.
ROUNDS: list[list[tuple[float, dict[str, Any]]]] = [
    [(0, {"m": "a"}), (1, {"m": "a"}), (1.5, {"m": "a", "k": "x"}), (4, {"k": "x", "m": "a"}), (300, {"m": "b"})],
    [(16, {"m": "b"}), (64.0, {"m": "b"}), (2, {"m": "c"}), (7, {"m": "a"})],
    [],
    [(257, {"m": "c"})],
]


def _points(data: MetricsData | None, name: str) -> list[tuple[Any, ...]]:
    """Every point of metric `name`, without its times: (attributes, count, sum, buckets, bounds, min, max)."""
    found = []
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:  # type: ignore[union-attr]
                    found.append(
                        (
                            sorted(point.attributes.items()),
                            point.count,
                            point.sum,
                            tuple(point.bucket_counts),
                            tuple(point.explicit_bounds),
                            point.min,
                            point.max,
                        )
                    )
    return sorted(found)


def _record(provider_meter: Any, rounds: Sequence[list[tuple[float, dict[str, Any]]]], collect: Any) -> list[Any]:
    histogram = provider_meter.create_histogram("tokens", "{token}", "d", explicit_bucket_boundaries_advisory=BOUNDS)
    collected = []
    for measurements in rounds:
        for value, attributes in measurements:
            histogram.record(value, attributes)
        collected.append(collect())
    return collected


def _ours(temporality: AggregationTemporality, rounds: Any, limit: int = 2000) -> list[list[tuple[Any, ...]]]:
    """The same measurements through AggregatedHistograms, joined to what a real SDK reader collected beside them."""
    resource, scope = Resource.create({"service.name": "t"}), InstrumentationScope("s", "1")
    histograms = AggregatedHistograms(temporality, limit)
    reader = InMemoryMetricReader(preferred_temporality={Histogram: temporality, Counter: temporality})
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = histograms.meter(provider.get_meter("s", "1"))
    meter.create_counter("calls").add(1)  # the SDK's own metric, whose scope ours joins

    def collect() -> MetricsData | None:
        return with_aggregated(reader.get_metrics_data(), resource, scope, histograms)

    collected = _record(meter, rounds, collect)
    for data in collected:
        if data is not None:  # the histogram joined the SDK's resource and scope, not beside them
            assert [len(r.scope_metrics) for r in data.resource_metrics] == [1]
    provider.shutdown()
    return [_points(data, "tokens") for data in collected]


def _sdk(temporality: AggregationTemporality, rounds: Any, limit: int = 2000) -> list[list[tuple[Any, ...]]]:
    reader = InMemoryMetricReader(preferred_temporality={Histogram: temporality}, cardinality_limits={Histogram: limit})
    provider = MeterProvider(metric_readers=[reader])
    collected = _record(provider.get_meter("s", "1"), rounds, reader.get_metrics_data)
    provider.shutdown()
    return [_points(data, "tokens") for data in collected]


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_points_equal_the_sdks_for_the_same_measurements(temporality: AggregationTemporality) -> None:
    ours, sdk = _ours(temporality, ROUNDS), _sdk(temporality, ROUNDS)
    assert ours == sdk
    assert ours[0] and ours[2] == ([] if temporality is DELTA else ours[1])  # the empty round: nothing new


@pytest.mark.parametrize("temporality", [CUMULATIVE, DELTA])
def test_past_the_cardinality_limit_one_overflow_series_as_the_sdk_keeps_it(
    temporality: AggregationTemporality,
) -> None:
    rounds = [[(float(n), {"m": str(n)}) for n in range(7)], [(3.0, {"m": "0"}), (9.0, {"m": "new"})]]
    ours, sdk = _ours(temporality, rounds, limit=3), _sdk(temporality, rounds, limit=3)
    assert ours == sdk
    overflow = [point for point in ours[0] if point[0] == [(sc.OTEL_METRIC_OVERFLOW, True)]]
    assert len(ours[0]) == 4 and overflow and overflow[0][1] == 4  # 3 sets, then 4 measurements in the overflow


def test_values_the_sdk_refuses_are_dropped() -> None:
    rounds = [[(-1, {"m": "a"}), (math.nan, {"m": "a"}), (math.inf, {"m": "a"}), (2, {"m": "a"})]]
    assert (
        _ours(CUMULATIVE, rounds)
        == _sdk(CUMULATIVE, rounds)
        == [[([("m", "a")], 1, 2, (0, 1, 0, 0, 0, 0), BOUNDS, 2, 2)]]
    )


def test_the_points_come_with_their_resource_and_scope_when_the_reader_collected_nothing() -> None:
    resource, scope = Resource.create({"service.name": "t"}), InstrumentationScope("s", "1")
    histograms = AggregatedHistograms(CUMULATIVE)
    histograms.histogram("tokens", "{token}", "d", BOUNDS).record(5, {"m": "a"})
    for collected in (None, MetricsData(resource_metrics=[])):
        data = with_aggregated(collected, resource, scope, histograms)
        assert data is not None and data.resource_metrics[0].resource == resource
        assert data.resource_metrics[0].scope_metrics[0].scope == scope
        assert _points(data, "tokens") == [([("m", "a")], 1, 5, (0, 0, 1, 0, 0, 0), BOUNDS, 5, 5)]
    assert with_aggregated(None, resource, scope, AggregatedHistograms(CUMULATIVE)) is None


def test_histograms_without_boundaries_are_left_to_the_sdk() -> None:
    histograms = AggregatedHistograms(CUMULATIVE)
    meter = histograms.meter(MeterProvider().get_meter("s"))
    meter.create_histogram("plain")
    made = meter.create_histogram("tokens", explicit_bucket_boundaries_advisory=BOUNDS)
    assert [h.name for h in histograms()] == ["tokens"]
    assert meter.create_histogram("tokens", explicit_bucket_boundaries_advisory=BOUNDS) is made  # one per name
