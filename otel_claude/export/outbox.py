"""Holds finished spans until the agent has exported them, so none is lost while the Collector is away.

The SDK's BatchSpanProcessor drops a batch whose export failed, and "lose nothing" forbids that; so the chain
is TracerProvider -> RedactingSpanProcessor -> OutboxSpanProcessor, and the agent hands the outbox to the SDK's
OTLP exporter itself, retrying the same spans until the export succeeds, before it releases their records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class OutboxSpanProcessor(SpanProcessor):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._spans.append(span)

    def peek(self, limit: int | None = None) -> list[ReadableSpan]:
        """The oldest `limit` spans (all without a limit), left in the outbox until `discard`."""
        with self._lock:
            return self._spans[:limit]

    def discard(self, count: int) -> None:
        with self._lock:
            del self._spans[:count]

    def __len__(self) -> int:
        with self._lock:
            return len(self._spans)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class ExportResult:
    ok: bool | None = None  # None: nothing exported yet
    at: float | None = None
    error: str | None = None
    failures: int = 0


def export_spans(exporter: SpanExporter | None, spans: Sequence[ReadableSpan], result: ExportResult) -> bool:
    """Exports once; records the outcome in `result`. No exporter (OTEL_TRACES_EXPORTER=none) is a success."""
    if exporter is None or not spans:
        return True
    try:
        ok = exporter.export(spans) == SpanExportResult.SUCCESS
        error = None if ok else "the exporter reported failure (endpoint unreachable or refusing)"
    except Exception as exc:  # an exporter bug must not stop the agent
        ok, error = False, repr(exc)
    result.ok, result.at, result.error = ok, time.time(), error
    if not ok:
        result.failures += 1
    return ok


class TrackingMetricExporter(MetricExporter):
    """Wraps the OTLP metric exporter to remember the last result for `otel-claude status`.

    The reader asks this wrapper, not `inner`, for temporality and aggregation: the caller passes the same
    preferences it gave `inner` (export/metric_preferences.py), so the wrapper never reads `inner`'s private fields.
    """

    def __init__(
        self,
        inner: MetricExporter,
        result: ExportResult,
        *,
        preferred_temporality: dict[type, AggregationTemporality],
        preferred_aggregation: dict[type, Aggregation],
    ) -> None:
        super().__init__(preferred_temporality=preferred_temporality, preferred_aggregation=preferred_aggregation)
        self._inner = inner
        self.result = result

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        try:
            outcome = self._inner.export(metrics_data, timeout_millis=timeout_millis)
            error = None if outcome == MetricExportResult.SUCCESS else "the exporter reported failure"
        except Exception as exc:
            outcome, error = MetricExportResult.FAILURE, repr(exc)
        self.result.ok, self.result.at, self.result.error = outcome == MetricExportResult.SUCCESS, time.time(), error
        if error:
            self.result.failures += 1
        return outcome

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis)
