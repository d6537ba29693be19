"""Builds the agent's TracerProvider and MeterProvider from its config: SDK parts only."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import CardinalityLimits, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_claude.config import AgentConfig
from otel_claude.export import metric_preferences
from otel_claude.export.direct_spans import span_sink
from otel_claude.export.id_generator import DeterministicIdGenerator
from otel_claude.export.outbox import ExportResult, OutboxSpanProcessor, TrackingMetricExporter
from otel_claude.export.prometheus_server import PrometheusServer
from otel_claude.export.recent_spans import RecentSpansExporter, recent_spans_path
from otel_claude.export.resource import build_resource, cardinality_limits, identity
from otel_claude.export.span_emitter import SpanSink
from otel_claude.version import __version__

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

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
    identity: dict[str, str] = field(default_factory=dict)  # labels every metric of this agent carries
    prometheus: PrometheusServer | None = None  # the /metrics server, which retries a port it could not bind
    spans: SpanSink | None = None  # where the agent's finished spans go: through redaction to the outbox


def wrap_span_processor(next_processor: SpanProcessor) -> SpanProcessor:
    """Every span passes the redacting processor before anything else sees it."""
    from otel_claude.redaction.processor import RedactingSpanProcessor

    return RedactingSpanProcessor(next_processor)


def build(config: AgentConfig) -> Providers:
    resource = build_resource(config)
    outbox = OutboxSpanProcessor()
    tracer_provider = TracerProvider(resource=resource, id_generator=DeterministicIdGenerator())
    # One redaction, then the outbox (the OTLP export) and the recent-spans file for `otel-claude trace` get the
    # same scrubbed span. The file is written from the batch processor's thread, off the agent's loop.
    after_redaction = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    after_redaction.add_span_processor(outbox)
    after_redaction.add_span_processor(
        BatchSpanProcessor(RecentSpansExporter(recent_spans_path(config.state_dir)), schedule_delay_millis=500)
    )
    redacting = wrap_span_processor(after_redaction)
    tracer_provider.add_span_processor(redacting)
    span_exporter: SpanExporter | None = None
    if config.traces_exporter == "otlp":
        from otel_claude.export.otlp_exporter import otlp_span_exporter

        span_exporter = otlp_span_exporter()
    metric_result = ExportResult()
    readers: list[MetricReader] = []
    if "otlp" in config.metrics_exporters:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        # The same preferences for the OTLP exporter and its wrapper (the one the reader asks).
        preferences = metric_preferences.from_environment(os.environ)
        # Split: one request over gRPC's 4 MiB limit would lose every metric, not only the wide ones.
        otlp = OTLPMetricExporter(
            preferred_temporality=preferences.temporality,
            preferred_aggregation=preferences.aggregation,
            max_export_batch_size=config.metric_export_batch_size,
        )
        tracking = TrackingMetricExporter(
            otlp,
            metric_result,
            preferred_temporality=preferences.temporality,
            preferred_aggregation=preferences.aggregation,
        )
        readers.append(
            PeriodicExportingMetricReader(
                tracking,
                export_interval_millis=max(config.metric_export_interval_ms, 500),
                cardinality_limits=cardinality_limits(config.metric_cardinality_limit),
            )
        )
    prometheus = None
    if "prometheus" in config.metrics_exporters and config.prometheus_port > 0:
        readers.append(prometheus_reader(cardinality_limits=cardinality_limits(config.metric_cardinality_limit)))
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
        identity(config),
        prometheus,
        span_sink(tracer_provider, redacting, "otel_claude", __version__),
    )


def prometheus_reader(
    registry: CollectorRegistry | None = None, cardinality_limits: CardinalityLimits | None = None
) -> MetricReader:
    """The reader behind the agent's /metrics, without otel_scope_* labels.

    By default the exporter labels every series with otel_scope_name and otel_scope_version (the package version):
    each upgrade would then start new series at the lifetime totals the counters carry on from, and windows would
    count them again. The scope is fixed (one meter, named in semconv), so it tells a dashboard nothing.
    (Same reason as without_scope_info on the Collector's prometheus exporter in collector-config.yaml.)
    """
    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    if registry is None:
        return PrometheusMetricReader(scope_info_enabled=False, cardinality_limits=cardinality_limits)
    return PrometheusMetricReader(scope_info_enabled=False, registry=registry, cardinality_limits=cardinality_limits)
