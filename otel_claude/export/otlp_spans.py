"""OTLP span encoding at C speed, for the SDK's own gRPC span exporter.

The SDK's `encode_spans` builds every attribute as two Python protobuf objects (an AnyValue inside a KeyValue):
about 240 µs for one of our 27-attribute spans, more than the agent's whole budget for an event and 5x what
ccusage needs to read a response. This builds the same ExportTraceServiceRequest (the same bytes, checked against
the SDK's encoder in tests/test_otlp_spans.py) with the upb extension doing the work: spans are added in place
and each distinct attribute (key, value) becomes one KeyValue per request, copied in C into every span that has
it (a session's id, model and kind repeat in every span of a batch).

`OtlpSpanExporter` is the SDK's OTLPSpanExporter (its OTEL_EXPORTER_OTLP_* configuration, retry, compression and
headers unchanged) with only this translation step replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags, Status
from opentelemetry.trace import SpanKind

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, TraceState
    from opentelemetry.trace import Status as SdkStatus
    from opentelemetry.util.types import Attributes

__all__ = ["encode_spans", "otlp_span_exporter"]

_log = logging.getLogger(__name__)

_KIND = {
    SpanKind.INTERNAL: PbSpan.SpanKind.SPAN_KIND_INTERNAL,
    SpanKind.SERVER: PbSpan.SpanKind.SPAN_KIND_SERVER,
    SpanKind.CLIENT: PbSpan.SpanKind.SPAN_KIND_CLIENT,
    SpanKind.PRODUCER: PbSpan.SpanKind.SPAN_KIND_PRODUCER,
    SpanKind.CONSUMER: PbSpan.SpanKind.SPAN_KIND_CONSUMER,
}
_HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = _HAS_IS_REMOTE | SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_CACHE_LIMIT = 65_536  # distinct attribute pairs kept per request: a bound whatever the spans carry
_FIELD = {str: "string_value", int: "int_value", bool: "bool_value"}


def _status(status: SdkStatus | None) -> Status | None:
    if status is None:
        return None
    code: Any = status.status_code.value
    return Status(code=code, message=status.description or "")


def _trace_state(trace_state: TraceState | None) -> str | None:
    if trace_state is None:
        return None
    return ",".join(f"{key}={value}" for key, value in trace_state.items())


def _any_value(value: Any) -> AnyValue:
    """The SDK's `_encode_value`, case for case and in the same order (a str is a Sequence, a bool an int)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Sequence):
        return AnyValue(array_value=ArrayValue(values=[_any_value(item) for item in value]))
    if isinstance(value, Mapping):
        pairs = [KeyValue(key=str(key), value=_any_value(item)) for key, item in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=pairs))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


class _Encoder:
    """One request's encoding state: the KeyValue of each distinct attribute pair seen so far."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, type, Any], KeyValue] = {}

    def attributes(self, attributes: Attributes) -> list[Any]:
        """The KeyValues of `attributes`: shared messages for str, int and bool values, dicts (which upb turns into
        messages in C) for floats; anything else through the SDK's rules."""
        if not attributes:
            return []
        encoded: list[Any] = []  # KeyValue messages and dicts: upb accepts both
        pairs = self._pairs
        for key, value in attributes.items():
            kind = type(value)
            if kind is str or kind is int or kind is bool:
                # Only these are shared: a float's -0.0 equals 0.0 and a tuple's (1,) equals (True,), yet each
                # encodes differently.
                pair = pairs.get((key, kind, value))
                if pair is None:
                    field: Any = {_FIELD[kind]: value}  # the AnyValue, made by upb in C
                    pair = KeyValue(key=key, value=field)
                    if len(pairs) < _CACHE_LIMIT:
                        pairs[(key, kind, value)] = pair
                encoded.append(pair)
            elif kind is float:
                encoded.append({"key": key, "value": {"double_value": value}})
            else:
                try:
                    encoded.append(KeyValue(key=key, value=_any_value(value)))
                except Exception as error:  # the SDK logs and drops an attribute it cannot encode; so does this
                    _log.exception("Failed to encode key %s: %s", key, error)
        return encoded

    def span(self, spans: Any, span: ReadableSpan) -> None:
        """Adds `span` to the repeated field `spans` (a ScopeSpans' spans)."""
        context = span.context
        parent = span.parent
        status = span.status
        spans.add(
            trace_id=context.trace_id.to_bytes(16, "big"),
            span_id=context.span_id.to_bytes(8, "big"),
            trace_state=_trace_state(context.trace_state),
            parent_span_id=parent.span_id.to_bytes(8, "big") if parent is not None else None,
            name=span.name,
            kind=_KIND[span.kind],
            start_time_unix_nano=span.start_time,
            end_time_unix_nano=span.end_time,
            events=[self._event(event) for event in span.events] if span.events else None,
            links=[self._link(link) for link in span.links] if span.links else None,
            status=_status(status),
            dropped_attributes_count=span.dropped_attributes,
            dropped_events_count=span.dropped_events,
            dropped_links_count=span.dropped_links,
            flags=_IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE,
            attributes=self.attributes(span.attributes),
        )

    def _event(self, event: Event) -> PbSpan.Event:
        return PbSpan.Event(
            name=event.name,
            time_unix_nano=event.timestamp,
            attributes=self.attributes(event.attributes),
            dropped_attributes_count=event.dropped_attributes,
        )

    def _link(self, link: Link) -> PbSpan.Link:
        context: SpanContext = link.context
        return PbSpan.Link(
            trace_id=context.trace_id.to_bytes(16, "big"),
            span_id=context.span_id.to_bytes(8, "big"),
            attributes=self.attributes(link.attributes),
            dropped_attributes_count=link.dropped_attributes,
            flags=_IS_REMOTE if context.is_remote else _HAS_IS_REMOTE,
        )


def encode_spans(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    """The request the SDK's `encode_spans` makes: spans grouped by resource, then scope, in order of first use."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[ReadableSpan]]] = {}
    by_id: dict[int, dict[InstrumentationScope | None, list[ReadableSpan]]] = {}  # a Resource hashes by JSON dump
    for span in spans:
        scopes = by_id.get(id(span.resource))
        if scopes is None:
            scopes = by_id[id(span.resource)] = groups.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(span)
    encoder = _Encoder()
    request = ExportTraceServiceRequest()
    for resource, scopes in groups.items():
        resource_spans = request.resource_spans.add(schema_url=resource.schema_url)
        resource_spans.resource.SetInParent()
        resource_spans.resource.attributes.extend(encoder.attributes(resource.attributes))
        for scope, members in scopes.items():
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.SetInParent()
            if scope is not None:
                scope_spans.scope.name = scope.name
                if scope.version:
                    scope_spans.scope.version = scope.version
                scope_spans.scope.attributes.extend(encoder.attributes(scope.attributes))
                if scope.schema_url:
                    scope_spans.schema_url = scope.schema_url
            for span in members:
                encoder.span(scope_spans.spans, span)
    return request


def otlp_span_exporter() -> SpanExporter:
    """The SDK's OTLP gRPC span exporter, configured by OTEL_EXPORTER_OTLP_*, encoding with `encode_spans` above."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    class OtlpSpanExporter(OTLPSpanExporter):
        def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
            return encode_spans(data)

    return OtlpSpanExporter()
