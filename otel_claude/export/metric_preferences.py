"""Temporality and default aggregation for the OTLP metric exporter, decided once and handed to every layer.

The agent wraps the OTLP exporter (to remember each export's result for `otel-claude status`), and a
MetricReader asks the exporter it holds, the wrapper, for its preferences. So the wrapper must prefer what the
OTLP exporter prefers. Rather than read the wrapped exporter's private fields, we decide the preferences here,
from the standard variables, and pass the same values to both (as logfire's WrapperMetricExporter takes them).
Semantics of the two variables as in the OTel spec and the SDK's OTLP exporter:
https://opentelemetry.io/docs/specs/otel/metrics/sdk_exporters/otlp/#additional-environment-variable-configuration
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)

from otel_claude.handoff import env

_log = logging.getLogger(__name__)
_CUMULATIVE = AggregationTemporality.CUMULATIVE
_DELTA = AggregationTemporality.DELTA
# Instruments whose temporality each preference makes delta; every other one stays cumulative.
_DELTA_INSTRUMENTS: Mapping[str, tuple[type, ...]] = {
    "cumulative": (),
    "delta": (Counter, Histogram, ObservableCounter),
    "lowmemory": (Counter, Histogram),
}
_INSTRUMENTS = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)


@dataclass(frozen=True)
class MetricPreferences:
    temporality: dict[type, AggregationTemporality]
    aggregation: dict[type, Aggregation]


def from_environment(environ: Mapping[str, str]) -> MetricPreferences:
    """What OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE and ..._DEFAULT_HISTOGRAM_AGGREGATION ask for;
    an unknown value logs a warning and means the default (cumulative, explicit buckets)."""
    preference = environ.get(env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, "cumulative").strip().lower()
    if preference not in _DELTA_INSTRUMENTS:
        _log.warning(
            "unknown %s %r: using cumulative", env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, preference
        )
        preference = "cumulative"
    delta = _DELTA_INSTRUMENTS[preference]
    temporality: dict[type, AggregationTemporality] = {k: _DELTA if k in delta else _CUMULATIVE for k in _INSTRUMENTS}
    histograms = environ.get(env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION, "").strip()
    aggregation: Aggregation = ExplicitBucketHistogramAggregation()
    if histograms == "base2_exponential_bucket_histogram":
        aggregation = ExponentialBucketHistogramAggregation()
    elif histograms not in ("", "explicit_bucket_histogram"):
        _log.warning(
            "unknown %s %r: using explicit buckets",
            env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
            histograms,
        )
    return MetricPreferences(temporality, {Histogram: aggregation})
