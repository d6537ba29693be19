"""Counters that sum their increments until a flush (export/summed_counters.py), bound or not: the SDK gets the same
totals, a zero still makes its series, what is kept is bounded, and a bound increment is never lost."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_claude.export.summed_counters import SummingMeter


def _totals(reader: InMemoryMetricReader) -> dict[tuple[tuple[str, Any], ...], float]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        tuple(sorted((point.attributes or {}).items())): point.value  # type: ignore[union-attr]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }


def _meter() -> tuple[SummingMeter, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return SummingMeter(MeterProvider(metric_readers=[reader]).get_meter("test")), reader


def test_bound_and_plain_increments_reach_the_sdk_summed_at_the_flush() -> None:
    meter, reader = _meter()
    counter = meter.create_counter("tokens")
    labels = {"model": "opus", "kind": "input"}
    add = counter.bind(labels)  # type: ignore[attr-defined]
    add(3)
    counter.add(4, {"model": "opus", "kind": "input"})
    add(0.5)
    counter.add(0, {"model": "unknown"})  # a zero still makes its series
    labels["model"] = "changed"  # the bound series was copied when bound
    add(1)
    assert reader.get_metrics_data() is None or not _totals(reader), "nothing reaches the SDK before the flush"
    meter.flush()
    assert _totals(reader) == {(("kind", "input"), ("model", "opus")): 8.5, (("model", "unknown"),): 0}
    add(2)
    meter.flush()
    assert _totals(reader)[(("kind", "input"), ("model", "opus"))] == 10.5


def test_a_negative_increment_goes_to_the_sdk_as_it_is() -> None:
    seen: list[tuple[float, Any]] = []

    class Inner:
        def add(self, amount: float, attributes: Any = None, context: Any = None) -> None:
            seen.append((amount, attributes))

    meter, _ = _meter()
    counter = meter.create_counter("c")
    counter._inner = Inner()  # type: ignore[attr-defined]
    add = counter.bind({"a": "b"})  # type: ignore[attr-defined]
    add(-1)
    counter.add(-2, {"a": "b"})
    assert seen == [(-1, {"a": "b"}), (-2, {"a": "b"})]


def test_untouched_series_are_forgotten_and_their_bound_increments_still_count() -> None:
    meter, reader = _meter()
    counter = meter.create_counter("c")
    adds = [counter.bind({"series": str(index)}) for index in range(50)]  # type: ignore[attr-defined]
    for add in adds:
        add(1)
    meter.flush()
    meter.flush()  # a flush with nothing added: every series is forgotten
    assert not counter._sums  # type: ignore[attr-defined]
    adds[7](5)  # bound before they were forgotten: counted all the same
    meter.flush()
    totals = _totals(reader)
    assert totals[(("series", "7"),)] == 6 and totals[(("series", "8"),)] == 1
    assert len(counter._sums) == 1  # type: ignore[attr-defined]
