"""Builds the agent's TracerProvider and MeterProvider from its config: SDK parts only."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import CardinalityLimits, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from otel_claude import semconv as sc
from otel_claude.config import AgentConfig
from otel_claude.export.ids import DeterministicIdGenerator
from otel_claude.export.outbox import ExportResult, OutboxSpanProcessor, TrackingMetricExporter
from otel_claude.export.prometheus_server import PrometheusServer
from otel_claude.handoff import env
from otel_claude.version import __version__

_log = logging.getLogger(__name__)


@dataclass
class Providers:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    outbox: OutboxSpanProcessor
    span_exporter: SpanExporter | None
    span_result: ExportResult
    metric_result: ExportResult
    prometheus_endpoint: str | None
    prometheus: PrometheusServer | None = None  # the /metrics server, which retries a port it could not bind


def build_resource(config: AgentConfig) -> Resource:
    """service.name (OTEL_SERVICE_NAME, default claude-code), version, user, host, plus OTEL_RESOURCE_ATTRIBUTES."""
    base = {
        sc.SERVICE_NAME: env.DEFAULT_SERVICE_NAME,
        sc.SERVICE_VERSION: __version__,
        sc.USER_NAME: config.user_name,
        sc.HOST_NAME: socket.gethostname(),
        "telemetry.distro.name": "otel-claude",
        "telemetry.distro.version": __version__,
    }
    # Resource.create overlays OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME from the environment.
    return Resource.create(base)


def wrap_span_processor(next_processor: SpanProcessor) -> SpanProcessor:
    """Every span passes the redacting processor before anything else sees it."""
    from otel_claude.redaction.processor import RedactingSpanProcessor

    return RedactingSpanProcessor(next_processor)


HISTOGRAM_SHARE = 4


def cardinality_limits(limit: int) -> CardinalityLimits:
    """`limit` distinct label sets for every kind of instrument the agent uses (the SDK's default: 2000), a quarter
    of it for histograms: a histogram series is a line per bucket on /metrics, twenty times a counter's."""
    kinds = (Counter, UpDownCounter, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
    return {**dict.fromkeys(kinds, limit), Histogram: max(1, limit // HISTOGRAM_SHARE)}


def build(config: AgentConfig) -> Providers:
    resource = build_resource(config)
    outbox = OutboxSpanProcessor()
    tracer_provider = TracerProvider(resource=resource, id_generator=DeterministicIdGenerator())
    tracer_provider.add_span_processor(wrap_span_processor(outbox))
    span_exporter: SpanExporter | None = None
    if config.traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    metric_result = ExportResult()
    readers: list[MetricReader] = []
    if "otlp" in config.metrics_exporters:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(
            PeriodicExportingMetricReader(
                # Split: one request over gRPC's 4 MiB limit would lose every metric, not only the wide ones.
                TrackingMetricExporter(
                    OTLPMetricExporter(max_export_batch_size=config.metric_export_batch_size), metric_result
                ),
                export_interval_millis=max(config.metric_export_interval_ms, 500),
                cardinality_limits=cardinality_limits(config.metric_cardinality_limit),
            )
        )
    prometheus = None
    if "prometheus" in config.metrics_exporters and config.prometheus_port > 0:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader(cardinality_limits=cardinality_limits(config.metric_cardinality_limit)))
        prometheus = PrometheusServer(config.prometheus_host, config.prometheus_port)
        prometheus.start()
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    return Providers(
        tracer_provider,
        meter_provider,
        outbox,
        span_exporter,
        ExportResult(),
        metric_result,
        prometheus.endpoint if prometheus else None,
        prometheus,
    )
