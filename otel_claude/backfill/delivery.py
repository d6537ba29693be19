"""Where backfill sends its spans and metrics, and whether the receiver acknowledged them.

Backfill records a call in its ledger only once every configured receiver acknowledged it, so it cannot use the
SDK's BatchSpanProcessor (which drops a batch whose export failed and reports nothing): it hands spans to the
SpanExporter itself, and collects metrics on demand through a reader that never exports on a timer. An export that
fails is tried again with backoff until `retry_for_s` has passed; then the run stops and says what remains.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a run that exports nothing never imports the SDK
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

_log = logging.getLogger(__name__)

DEFAULT_RETRY_FOR_S = 30.0
SPANS_PER_EXPORT = 512  # keeps one OTLP request well under gRPC's 4 MiB default message limit
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0


@dataclass
class Delivery:
    """The receivers of one backfill run. No span exporter and no metric flush: nothing leaves the process."""

    meter_provider: MeterProvider | None = None
    resource: Resource | None = None
    span_exporter: SpanExporter | None = None
    # Collects the metrics and exports them; True once the receiver acknowledged (None: metrics go nowhere).
    flush_metrics: Callable[[], bool] | None = None
    endpoint: str = ""
    retry_for_s: float = DEFAULT_RETRY_FOR_S
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    failure: str | None = field(default=None, init=False)

    @property
    def exports(self) -> bool:
        return self.span_exporter is not None or self.flush_metrics is not None

    def export_spans(self, spans: Sequence[ReadableSpan]) -> int:
        """Exports `spans` in requests of SPANS_PER_EXPORT; returns how many the receiver acknowledged (a prefix)."""
        exporter = self.span_exporter
        if exporter is None:
            return len(spans)
        from opentelemetry.sdk.trace.export import SpanExportResult

        for start in range(0, len(spans), SPANS_PER_EXPORT):
            batch = spans[start : start + SPANS_PER_EXPORT]

            def attempt(batch: Sequence[ReadableSpan] = batch) -> bool:
                return exporter.export(batch) == SpanExportResult.SUCCESS

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
    resource: Resource, endpoint: str, traces: bool, metrics: bool, retry_for_s: float = DEFAULT_RETRY_FOR_S
) -> Delivery:
    """OTLP gRPC exporters configured by the standard OTEL_EXPORTER_OTLP_* variables, for the signals asked for."""
    span_exporter: SpanExporter | None = None
    if traces:
        from otel_claude.export.otlp_spans import otlp_span_exporter

        span_exporter = otlp_span_exporter()
    if not metrics:
        return Delivery(None, resource, span_exporter, None, endpoint, retry_for_s)
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from otel_claude.export import metric_preferences
    from otel_claude.export.outbox import ExportResult, TrackingMetricExporter

    result = ExportResult()
    preferences = metric_preferences.from_environment(os.environ)
    exporter = TrackingMetricExporter(
        OTLPMetricExporter(
            preferred_temporality=preferences.temporality, preferred_aggregation=preferences.aggregation
        ),
        result,
        preferred_temporality=preferences.temporality,
        preferred_aggregation=preferences.aggregation,
    )
    # An infinite interval starts no timer thread: metrics leave only when `flush` collects them, and a stopped
    # run never tries a dead endpoint again at shutdown.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=math.inf)

    def flush() -> bool:
        result.ok = None
        reader.collect()
        return result.ok is not False  # None: there was nothing to send

    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return Delivery(meter_provider, resource, span_exporter, flush, endpoint, retry_for_s)
