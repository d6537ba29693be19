"""The SDK's OTLP gRPC span exporter, sending the request `encode_request` wrote.

`OTLPSpanExporter` keeps everything it does (OTEL_EXPORTER_OTLP_* configuration, retry with backoff, reconnection,
compression, headers, timeout, its own metrics); only its translation step and the stub's request serializer change:
the request is already bytes on the wire, so gRPC sends them as they are instead of serializing a message that upb
would first have to parse them into. The method path and the response type are the generated stub's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from otel_claude.export.otlp_spans import EncodedSpan, encode_request

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["EXPORT_METHOD", "otlp_span_exporter"]

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"  # trace_service_pb2_grpc's


def _as_is(request: bytes) -> bytes:
    return request


class _WireTraceService:
    """TraceServiceStub with a request serializer that takes the request's bytes."""

    def __init__(self, channel: Any) -> None:  # a grpc.Channel (grpc ships no type stubs)
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        self.Export = channel.unary_unary(
            EXPORT_METHOD,
            request_serializer=_as_is,
            response_deserializer=ExportTraceServiceResponse.FromString,
            _registered_method=True,
        )


def otlp_span_exporter() -> SpanExporter:
    """The SDK's OTLP gRPC span exporter, configured by OTEL_EXPORTER_OTLP_*, sending `encode_request`'s bytes."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    class OtlpSpanExporter(OTLPSpanExporter):
        accepts_encoded = True  # takes EncodedSpan beside ReadableSpan (backfill's reader processes make them)

        def _initialize_channel_and_stub(self) -> None:  # also what the SDK calls to reconnect after UNAVAILABLE
            super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]
            self._client = _WireTraceService(self._channel)  # type: ignore[assignment]

        def _translate_data(self, data: Sequence[ReadableSpan | EncodedSpan]) -> bytes:  # type: ignore[override]
            return encode_request(data)

    return OtlpSpanExporter()
