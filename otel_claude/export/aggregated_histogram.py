"""Explicit-bucket histograms aggregated here, their points handed to the SDK's metric exporter with the rest.

Backfill records two token-usage points per API call, tens of thousands a run. Through the SDK each one costs
about 25 µs (the measurement's attributes are cleaned, copied and hashed, then bisected under a lock): half of
what building and encoding the call's span costs. The points it exports are simple (per label set: bucket counts,
sum, count, min, max), and the SDK has no way to record many values at once; so this aggregates them by the SDK's
rules (bisect_left on the boundaries, min/max kept, the same cardinality limit and overflow series, cumulative
or delta as the exporter prefers) and `with_aggregated` adds the resulting Metric, built from the SDK's public
data types, to what the SDK's reader collected, for the SDK's OTLP exporter to send both.

Exemplars are not kept: backfill records outside any span, where the SDK's default filter keeps none either.
Used only where the exporter prefers explicit buckets; with base2 exponential histograms the SDK aggregates.
tests/test_aggregated_histogram.py holds the points equal to the SDK's for the same measurements.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import Attributes, AttributeValue

from otel_claude import semconv as sc
from otel_claude.export.delegating_meter import DelegatingMeter

_log = logging.getLogger(__name__)

SDK_CARDINALITY_LIMIT = 2000  # the SDK's default per metric, which a reader without `cardinality_limits` applies
_OVERFLOW: dict[str, AttributeValue] = {sc.OTEL_METRIC_OVERFLOW: True}
_OVERFLOW_KEY = frozenset(_OVERFLOW.items())

_SeriesKey = tuple[tuple[str, AttributeValue], ...]


class _Series:
    __slots__ = ("attributes", "buckets", "max", "min", "start_ns", "sum")

    def __init__(self, attributes: dict[str, AttributeValue], buckets: int, start_ns: int) -> None:
        self.attributes, self.start_ns = attributes, start_ns
        self.buckets = [0] * buckets
        self.sum: float = 0
        self.min, self.max = math.inf, -math.inf


class AggregatedHistogram(Histogram):
    """A synchronous histogram whose points are aggregated in this object until `collect`.

    Bound: at most `cardinality_limit` label sets plus the overflow series, as the SDK keeps them."""

    def __init__(
        self,
        name: str,
        unit: str,
        description: str,
        boundaries: Sequence[float],
        temporality: AggregationTemporality,
        cardinality_limit: int = SDK_CARDINALITY_LIMIT,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        # The API's base __init__ is abstract with a trivial body: the fields the metric carries are kept here.
        self.name, self.unit, self.description = name, unit, description
        self._boundaries = tuple(boundaries)
        self._temporality, self._limit, self._clock = temporality, cardinality_limit, clock
        self._lock = threading.Lock()
        self._series: dict[frozenset[tuple[str, AttributeValue]], _Series] = {}
        # A caller's attribute order -> its series: a tuple of the items costs a fraction of hashing them unordered.
        self._by_items: dict[_SeriesKey, _Series] = {}
        self._last_collect_ns: int | None = None

    def record(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        if not math.isfinite(amount) or amount < 0:  # the SDK drops these too (with a warning)
            _log.warning("histogram %s: ignoring the measurement %r (not finite, or negative)", self.name, amount)
            return
        items: _SeriesKey = tuple(attributes.items()) if attributes else ()
        with self._lock:
            series = self._by_items.get(items)
            if series is None:
                series = self._new_series(items)
            series.buckets[bisect_left(self._boundaries, amount)] += 1
            series.sum += amount
            if amount < series.min:
                series.min = amount
            if amount > series.max:
                series.max = amount

    def _new_series(self, items: _SeriesKey) -> _Series:
        key = frozenset(items)
        series = self._series.get(key)
        if series is None:
            attributes = dict(items)
            if len(self._series) >= self._limit:  # the SDK's rule: past the limit, one overflow series
                key, attributes = _OVERFLOW_KEY, dict(_OVERFLOW)
                series = self._series.get(key)
            if series is None:
                start = self._last_collect_ns if self._last_collect_ns is not None else self._clock()
                series = self._series[key] = _Series(attributes, len(self._boundaries) + 1, start)
        if len(self._by_items) < 4 * self._limit:  # orders beyond this are looked up by their unordered key
            self._by_items[items] = series
        return series

    def collect(self) -> Metric | None:
        """The metric's points now (None: none to report); with delta temporality, the series start over."""
        with self._lock:
            now = self._clock()
            series = list(self._series.values())
            delta = self._temporality is AggregationTemporality.DELTA
            previous = self._last_collect_ns
            if delta:
                self._series, self._by_items = {}, {}
            self._last_collect_ns = now
        points = [
            HistogramDataPoint(
                attributes=s.attributes,
                start_time_unix_nano=previous if delta and previous is not None else s.start_ns,
                time_unix_nano=now,
                count=sum(s.buckets),
                sum=s.sum,
                bucket_counts=tuple(s.buckets),
                explicit_bounds=self._boundaries,
                min=s.min,
                max=s.max,
                exemplars=[],
            )
            for s in series
            if any(s.buckets)
        ]
        if not points:
            return None
        data = HistogramData(data_points=points, aggregation_temporality=self._temporality)
        return Metric(name=self.name, description=self.description, unit=self.unit, data=data)


class AggregatedHistograms:
    """The histograms that meters wrapped by `meter` made (call it for them): what `with_aggregated` collects."""

    def __init__(self, temporality: AggregationTemporality, cardinality_limit: int = SDK_CARDINALITY_LIMIT) -> None:
        self._temporality, self._limit = temporality, cardinality_limit
        self._made: dict[str, AggregatedHistogram] = {}
        self._lock = threading.Lock()

    def __call__(self) -> list[AggregatedHistogram]:
        with self._lock:
            return list(self._made.values())

    def meter(self, inner: Meter) -> Meter:
        """`inner`, whose histograms with explicit boundaries are aggregated here instead."""
        return _AggregatingMeter(inner, self)

    def histogram(self, name: str, unit: str, description: str, boundaries: Sequence[float]) -> AggregatedHistogram:
        with self._lock:  # one instrument per name, as the SDK returns the one it made
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = AggregatedHistogram(
                    name, unit, description, boundaries, self._temporality, self._limit
                )
            return made


class _AggregatingMeter(DelegatingMeter):
    def __init__(self, inner: Meter, histograms: AggregatedHistograms) -> None:
        super().__init__(inner)
        self._histograms = histograms

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> Histogram:
        if explicit_bucket_boundaries_advisory is None:  # the SDK's default boundaries: left to the SDK
            return super().create_histogram(name, unit, description)
        return self._histograms.histogram(name, unit, description, explicit_bucket_boundaries_advisory)


def with_aggregated(
    data: MetricsData | None, resource: Resource, scope: InstrumentationScope, histograms: AggregatedHistograms
) -> MetricsData | None:
    """What a reader collected (`data`), with the points of `histograms` collected now appended to `scope`'s
    metrics of `resource` (the scope, or the resource, added if the reader collected none of it)."""
    added = [metric for metric in (h.collect() for h in histograms()) if metric is not None]
    if not added:
        return data
    resources = list(data.resource_metrics) if data is not None else []
    for at, resource_metrics in enumerate(resources):
        if resource_metrics.resource != resource:
            continue
        scopes = list(resource_metrics.scope_metrics)
        for index, scope_metrics in enumerate(scopes):
            if scope_metrics.scope == scope:
                metrics = [*scope_metrics.metrics, *added]
                scopes[index] = ScopeMetrics(scope_metrics.scope, metrics, scope_metrics.schema_url)
                break
        else:
            scopes.append(ScopeMetrics(scope, added, scope.schema_url or ""))
        resources[at] = ResourceMetrics(resource, scopes, resource_metrics.schema_url)
        break
    else:
        resources.append(ResourceMetrics(resource, [ScopeMetrics(scope, added, scope.schema_url or "")], ""))
    return MetricsData(resources)
