"""Where backfill sends its spans and metrics, and whether the receiver acknowledged them.

Backfill records a call in its ledger only once every configured receiver acknowledged it, so it cannot use the
SDK's BatchSpanProcessor (which drops a batch whose export failed and reports nothing): it hands spans to the
SpanExporter itself, and collects metrics on demand through a reader that never exports on a timer (a collection
that was not acknowledged is sent again before the next is made, so a delta is not lost). An export that
fails is tried again with backoff until `retry_for_s` has passed; then the run stops and says what remains.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from otel_claude.handoff import env
from otel_claude.version import __version__

if TYPE_CHECKING:  # a run that exports nothing never imports the SDK
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from otel_claude.export.aggregated_histogram import AggregatedHistograms
    from otel_claude.export.otlp_spans import EncodedSpan

_log = logging.getLogger(__name__)
_Exporter = TypeVar("_Exporter")

METER_NAME = "otel_claude"

DEFAULT_RETRY_FOR_S = 30.0
SPANS_PER_EXPORT = 512  # keeps one OTLP request well under gRPC's 4 MiB default message limit
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0
_MIN_ATTEMPT_S = 1.0  # an export attempt's own deadline never goes below this (a slow receiver that is up)


@dataclass
class Delivery:
    """The receivers of one backfill run. No span exporter and no metric flush: nothing leaves the process."""

    meter_provider: MeterProvider | None = None
    resource: Resource | None = None
    span_exporter: SpanExporter | None = None
    # Collects the metrics and exports them; True once the receiver acknowledged (None: metrics go nowhere).
    flush_metrics: Callable[[], bool] | None = None
    endpoint: str = ""
    # Histograms aggregated in this process, added to each metric export (None: the SDK aggregates them)
    histograms: AggregatedHistograms | None = None
    retry_for_s: float = DEFAULT_RETRY_FOR_S
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    failure: str | None = field(default=None, init=False)

    @property
    def exports(self) -> bool:
        return self.span_exporter is not None or self.flush_metrics is not None

    def export_spans(self, spans: Sequence[ReadableSpan | EncodedSpan]) -> int:
        """Exports `spans` in requests of SPANS_PER_EXPORT; returns how many the receiver acknowledged (a prefix)."""
        exporter = self.span_exporter
        if exporter is None:
            return len(spans)
        from opentelemetry.sdk.trace.export import SpanExportResult

        for start in range(0, len(spans), SPANS_PER_EXPORT):
            batch = spans[start : start + SPANS_PER_EXPORT]

            def attempt(batch: Sequence[ReadableSpan | EncodedSpan] = batch) -> bool:
                return exporter.export(batch) == SpanExportResult.SUCCESS  # type: ignore[arg-type]

            if not self._retry("spans", attempt):
                return start
        return len(spans)

    def export_metrics(self) -> bool:
        """Exports the metrics recorded so far (cumulative); True once the receiver acknowledged."""
        return self.flush_metrics is None or self._retry("metrics", self.flush_metrics)

    def _retry(self, what: str, attempt: Callable[[], bool]) -> bool:
        deadline = self.clock() + self.retry_for_s
        backoff = _FIRST_BACKOFF_S
        tries = 0
        while True:
            tries += 1
            try:
                if attempt():
                    return True
                error = "the exporter reported failure"
            except Exception as exc:  # an exporter bug is a failed export, not a crash that loses the ledger
                error = repr(exc)
            left = deadline - self.clock()
            if left <= 0:
                self.failure = f"{what} not acknowledged after {tries} tries in {self.retry_for_s:g} s: {error}"
                return False
            _log.warning("backfill: exporting %s to %s failed (%s); retrying", what, self.endpoint, error)
            self.sleep(min(backoff, left))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def shutdown(self) -> None:
        if self.span_exporter is not None:
            self.span_exporter.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def otlp_delivery(
    resource: Resource,
    endpoint: str,
    traces: bool,
    metrics: bool,
    retry_for_s: float = DEFAULT_RETRY_FOR_S,
    cardinality_limit: int = env.DEFAULT_METRIC_CARDINALITY_LIMIT,
) -> Delivery:
    """OTLP gRPC exporters configured by the standard OTEL_EXPORTER_OTLP_* variables, for the signals asked for.
    `cardinality_limit`: the agent's (OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT), so live and backfilled series of the
    same metrics are cut at the same label sets."""
    span_exporter: SpanExporter | None = None
    if traces:
        from otel_claude.export.otlp_exporter import otlp_span_exporter

        span_exporter = _attempts_within(otlp_span_exporter(), retry_for_s)
    if not metrics:
        return Delivery(None, resource, span_exporter, None, endpoint, retry_for_s=retry_for_s)
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult, MetricsData
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation

    from otel_claude.export import metric_preferences
    from otel_claude.export.aggregated_histogram import AggregatedHistograms, with_aggregated
    from otel_claude.export.resource import cardinality_limits

    preferences = metric_preferences.from_environment(os.environ)
    limits = cardinality_limits(cardinality_limit)
    temporality, aggregation = preferences.temporality, preferences.aggregation
    # Split: one request over gRPC's 4 MiB limit would lose every metric, not only the wide ones.
    exporter = _attempts_within(
        OTLPMetricExporter(
            preferred_temporality=temporality,
            preferred_aggregation=aggregation,
            max_export_batch_size=env.DEFAULT_METRIC_EXPORT_BATCH_SIZE,
        ),
        retry_for_s,
    )
    histograms = None
    if isinstance(preferences.aggregation[Histogram], ExplicitBucketHistogramAggregation):
        # Tens of thousands of token-usage points: aggregated here, at a fraction of the SDK's cost per point.
        histograms = AggregatedHistograms(preferences.temporality[Histogram], limits[Histogram])
    # Collected on demand, never on a timer: metrics leave only when `flush` is called, and a stopped run never
    # tries a dead endpoint again at shutdown.
    reader = InMemoryMetricReader(
        preferred_temporality=temporality, preferred_aggregation=aggregation, cardinality_limits=limits
    )
    scope = metrics_scope()
    unsent: list[MetricsData] = []  # collected, not acknowledged: sent again first (a delta is not collected twice)

    def flush() -> bool:
        if not unsent:
            data = reader.get_metrics_data()
            if histograms is not None:
                data = with_aggregated(data, resource, scope, histograms)
            if data is None or not data.resource_metrics:
                return True  # nothing to send
            unsent.append(data)
        if exporter.export(unsent[0]) != MetricExportResult.SUCCESS:
            return False
        unsent.clear()
        return True

    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return Delivery(meter_provider, resource, span_exporter, flush, endpoint, histograms, retry_for_s)


def _attempts_within(exporter: _Exporter, retry_for_s: float) -> _Exporter:
    """The SDK's OTLP exporter retries one export on its own until its timeout (OTEL_EXPORTER_OTLP[_signal]_TIMEOUT,
    10 s by default), before `Delivery._retry` sees a failure: that timeout is capped at the run's retry budget, so
    `--retry-for 2` stops after about 2 s against a dead endpoint, not 10. A shorter configured timeout stays."""
    timeout = getattr(exporter, "_timeout", None)  # the SDK's resolved timeout (argument, then environment)
    budget = max(retry_for_s, _MIN_ATTEMPT_S)
    if isinstance(timeout, int | float) and timeout > budget:
        exporter._timeout = budget  # type: ignore[attr-defined]
    return exporter


def metrics_scope() -> InstrumentationScope:
    """The scope of backfill's meter: the one its aggregated histograms' points join."""
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    return InstrumentationScope(METER_NAME, __version__)
