"""Backfill's delivery retries a failed export with growing waits for a bounded time, then gives up and says why."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
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


def test_metrics_that_were_not_acknowledged_go_out_again_whole_even_as_deltas(monkeypatch: pytest.MonkeyPatch) -> None:
    """A delta collected for a refused export must be the one retried: collecting again would find nothing new."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
    from opentelemetry.sdk.resources import Resource

    from otel_claude.backfill.delivery import METER_NAME, otlp_delivery
    from otel_claude.version import __version__

    sent: list[tuple[bool, MetricsData]] = []

    def export(
        self: OTLPMetricExporter, data: MetricsData, timeout_millis: float = 10_000, **_: object
    ) -> MetricExportResult:
        refused = not sent  # the first export is refused
        sent.append((not refused, data))
        return MetricExportResult.FAILURE if refused else MetricExportResult.SUCCESS

    monkeypatch.setattr(OTLPMetricExporter, "export", export)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    delivery = otlp_delivery(Resource.create({}), "http://127.0.0.1:1", traces=False, metrics=True, retry_for_s=0)
    assert delivery.flush_metrics is not None and delivery.meter_provider is not None
    assert delivery.histograms is not None  # explicit buckets: aggregated in the process
    meter = delivery.histograms.meter(delivery.meter_provider.get_meter(METER_NAME, __version__))  # as run.py
    meter.create_counter("calls").add(3, {"m": "a"})
    meter.create_histogram("tokens", explicit_bucket_boundaries_advisory=[10]).record(7, {"m": "a"})
    assert delivery.flush_metrics() is False
    assert delivery.flush_metrics() is True
    assert delivery.flush_metrics() is True  # nothing new: nothing sent
    assert [ok for ok, _ in sent] == [False, True]
    acknowledged = sent[1][1]
    assert acknowledged is sent[0][1]  # the refused collection itself, not a new and empty one
    (metrics,) = [scope.metrics for r in acknowledged.resource_metrics for scope in r.scope_metrics]
    assert sorted(m.name for m in metrics) == ["calls", "tokens"]
    delivery.shutdown()
