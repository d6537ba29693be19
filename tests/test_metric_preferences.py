"""The OTLP metric exporter and its tracking wrapper prefer the same temporality and aggregation, decided by us
from the standard variables, and agree with what the SDK's own OTLP exporter makes of those variables."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, ObservableCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

from otel_claude.export import metric_preferences
from otel_claude.export.outbox import ExportResult, TrackingMetricExporter
from otel_claude.handoff import env

TEMPORALITY = env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
HISTOGRAMS = env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION


@pytest.mark.parametrize("preference", ["", "cumulative", "DELTA", "lowmemory", "bogus"])
@pytest.mark.parametrize("histograms", ["", "explicit_bucket_histogram", "base2_exponential_bucket_histogram"])
def test_preferences_agree_with_the_sdk_otlp_exporter(
    monkeypatch: pytest.MonkeyPatch, preference: str, histograms: str
) -> None:
    environ = {TEMPORALITY: preference, HISTOGRAMS: histograms}
    ours = metric_preferences.from_environment({k: v for k, v in environ.items() if v})
    for key, value in environ.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    sdk = OTLPMetricExporter()  # the oracle: what the SDK itself reads from the same variables
    assert ours.temporality == sdk._preferred_temporality
    assert {k: type(v) for k, v in ours.aggregation.items()} == {
        k: type(v) for k, v in sdk._preferred_aggregation.items()
    }


class _Recording(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def test_the_reader_exports_with_the_preferences_given_to_the_wrapper() -> None:
    """Delta asked for: the wrapped exporter receives delta sums, and the result is recorded for `status`."""
    prefs = metric_preferences.from_environment(
        {TEMPORALITY: "delta", HISTOGRAMS: "base2_exponential_bucket_histogram"}
    )
    assert prefs.temporality[Counter] is AggregationTemporality.DELTA
    assert prefs.temporality[ObservableCounter] is AggregationTemporality.DELTA
    assert isinstance(prefs.aggregation[Histogram], ExponentialBucketHistogramAggregation)
    inner = _Recording()
    result = ExportResult()
    tracking = TrackingMetricExporter(
        inner, result, preferred_temporality=prefs.temporality, preferred_aggregation=prefs.aggregation
    )
    reader = PeriodicExportingMetricReader(tracking, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("c").add(3)
    provider.force_flush()
    provider.shutdown()
    points = [
        metric.data
        for batch in inner.batches
        for rm in batch.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    ]
    assert points and all(isinstance(p, Sum) for p in points)
    assert points[0].aggregation_temporality is AggregationTemporality.DELTA
    assert result.ok is True and result.failures == 0


def test_default_is_cumulative_for_prometheus() -> None:
    prefs = metric_preferences.from_environment({})
    assert set(prefs.temporality.values()) == {AggregationTemporality.CUMULATIVE}
