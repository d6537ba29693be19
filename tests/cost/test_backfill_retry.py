"""Backfill's delivery retries a failed export with growing waits for a bounded time, then gives up and says why."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_claude.backfill.delivery import SPANS_PER_EXPORT, Delivery


class _Exporter(SpanExporter):
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.batches: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.failures > 0:
            self.failures -= 1
            return SpanExportResult.FAILURE
        self.batches.append(len(spans))
        return SpanExportResult.SUCCESS


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _delivery(exporter: SpanExporter, clock: _Clock, retry_for: float) -> Delivery:
    return Delivery(
        span_exporter=exporter,
        endpoint="http://x:4317",
        retry_for_s=retry_for,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


def test_a_transient_failure_is_retried_with_growing_waits() -> None:
    clock, exporter = _Clock(), _Exporter(failures=3)
    spans = [ReadableSpan(name=str(i)) for i in range(SPANS_PER_EXPORT + 1)]
    assert _delivery(exporter, clock, retry_for=30).export_spans(spans) == len(spans)
    assert exporter.batches == [SPANS_PER_EXPORT, 1] and clock.sleeps == [0.5, 1.0, 2.0]


def test_a_receiver_that_stays_away_stops_the_export_within_the_bound() -> None:
    clock, exporter = _Clock(), _Exporter(failures=10**6)
    delivery = _delivery(exporter, clock, retry_for=20)
    assert delivery.export_spans([ReadableSpan(name="a")]) == 0
    assert clock.now <= 20 and clock.sleeps[:5] == [0.5, 1.0, 2.0, 4.0, 8.0] and max(clock.sleeps) <= 8.0
    assert (
        delivery.failure is not None and "spans not acknowledged" in delivery.failure and "in 20 s" in delivery.failure
    )


def test_an_exporter_that_raises_is_a_failed_export_not_a_crash() -> None:
    class Raising(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            raise RuntimeError("boom")

    clock = _Clock()
    delivery = _delivery(Raising(), clock, retry_for=1)
    assert delivery.export_spans([ReadableSpan(name="a")]) == 0 and "boom" in (delivery.failure or "")
