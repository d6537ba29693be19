"""OTLP span encoding at C speed, for the SDK's own gRPC span exporter.

The SDK's `encode_spans` builds every attribute as two Python protobuf objects (an AnyValue inside a KeyValue):
about 240 µs for one of our 27-attribute spans, more than the agent's whole budget for an event and 5x what
ccusage needs to read a response. This makes the same ExportTraceServiceRequest (checked against the SDK's encoder
in tests/test_otlp_spans.py) in its wire form: each span is written field by field (tags taken from the messages'
descriptors), with each distinct str, int or bool attribute written once per request and its bytes shared (a
session's id, model and kind repeat in every span of a batch). Values that are not plain scalars go through upb by
the SDK's rules. The request's bytes go to gRPC as they are (export/otlp_exporter.py): upb neither parses the
spans nor serializes them again.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, SpanFlags, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.trace import SpanKind

from otel_claude.export.protobuf_wire import (
    FIXED32,
    FIXED64,
    LENGTH,
    SMALL_VARINTS,
    VARINT,
    key_value,
    length_delimited,
    tag,
    varint,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, TraceState
    from opentelemetry.trace import Status as SdkStatus
    from opentelemetry.util.types import Attributes

__all__ = ["EncodedSpan", "SpanEncoder", "encode_request", "encode_spans"]

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
# Distinct values of one key kept: a key past it (a response id, a request id: one value per span) is one that does
# not repeat, and caching it would only fill the cache (a backfill reader's encoder lives for its whole corpus).
_VALUES_PER_KEY = 1024
_SHORT_PREFIX = 120  # a key prefix this short, with an int of up to 3 varint bytes, keeps its field under 128 bytes
_SHARED = frozenset({str, int, bool})  # attribute value types whose equal values encode equally


def _status(status: SdkStatus | None) -> Status | None:
    if status is None:
        return None
    code: Any = status.status_code.value
    return Status(code=code, message=status.description or "")


def _trace_state(trace_state: TraceState | None) -> str | None:
    if trace_state is None:
        return None
    return ",".join(f"{key}={value}" for key, value in trace_state.items())


_TRACE_ID = tag(PbSpan, "trace_id", LENGTH) + b"\x10"  # 16 bytes
_SPAN_ID = tag(PbSpan, "span_id", LENGTH) + b"\x08"  # 8 bytes
_PARENT_SPAN_ID = tag(PbSpan, "parent_span_id", LENGTH) + b"\x08"
_TRACE_STATE = tag(PbSpan, "trace_state", LENGTH)
_NAME = tag(PbSpan, "name", LENGTH)
_KIND_FIELD = tag(PbSpan, "kind", VARINT)
_START = tag(PbSpan, "start_time_unix_nano", FIXED64)
_END = tag(PbSpan, "end_time_unix_nano", FIXED64)
_ATTRIBUTE = tag(PbSpan, "attributes", LENGTH)
_DROPPED_ATTRIBUTES = tag(PbSpan, "dropped_attributes_count", VARINT)
_EVENT = tag(PbSpan, "events", LENGTH)
_EVENT_TIME = tag(PbSpan.Event, "time_unix_nano", FIXED64)
_EVENT_NAME = tag(PbSpan.Event, "name", LENGTH)
_EVENT_ATTRIBUTE = tag(PbSpan.Event, "attributes", LENGTH)
_EVENT_DROPPED_ATTRIBUTES = tag(PbSpan.Event, "dropped_attributes_count", VARINT)
_DROPPED_EVENTS = tag(PbSpan, "dropped_events_count", VARINT)
_LINK = tag(PbSpan, "links", LENGTH)
_DROPPED_LINKS = tag(PbSpan, "dropped_links_count", VARINT)
_STATUS = tag(PbSpan, "status", LENGTH)
_FLAGS = tag(PbSpan, "flags", FIXED32)
_SCOPE_SPANS_SPAN = tag(ScopeSpans, "spans", LENGTH)
_RESOURCE_SCOPE_SPANS = tag(ResourceSpans, "scope_spans", LENGTH)
_REQUEST_RESOURCE_SPANS = tag(ExportTraceServiceRequest, "resource_spans", LENGTH)
_KEY = tag(KeyValue, "key", LENGTH)
_VALUE = tag(KeyValue, "value", LENGTH)
_STRING_VALUE = tag(AnyValue, "string_value", LENGTH)
_BOOL_TRUE = tag(AnyValue, "bool_value", VARINT) + b"\x01"
_BOOL_FALSE = tag(AnyValue, "bool_value", VARINT) + b"\x00"  # a oneof member: written even when false
_INT_VALUE = tag(AnyValue, "int_value", VARINT)
_DOUBLE_VALUE = tag(AnyValue, "double_value", FIXED64)
_DOUBLE = struct.Struct("<d")
_INT64_MIN, _INT64_MAX, _UINT64_MASK = -(2**63), 2**63 - 1, 2**64 - 1
_FLAGS_LOCAL = _FLAGS + _HAS_IS_REMOTE.to_bytes(4, "little")
_FLAGS_REMOTE = _FLAGS + _IS_REMOTE.to_bytes(4, "little")
_KIND_BYTES = {kind: _KIND_FIELD + varint(value) for kind, value in _KIND.items()}


class EncodedSpan(NamedTuple):
    """A span whose wire form was written elsewhere (a backfill reader process, `SpanEncoder.body`): `body` holds
    every field but the attributes in `leading`, which are written before the body's own, as the SDK orders a
    span's attributes when `leading` was merged first. `resource` and scope group it as a ReadableSpan's would."""

    resource: Resource
    instrumentation_scope: InstrumentationScope
    leading: Attributes
    body: bytes


class SpanEncoder:
    """One request's encoding state (or a reader process's, for all its bodies): attribute pairs written once."""

    def __init__(self, attribute_tag: bytes = _ATTRIBUTE) -> None:
        # The field each attribute is written as: a Span's, or (for the encoder of a span's events) an Event's.
        self._tag = attribute_tag
        self._events: SpanEncoder | None = None  # writes events' attributes, with caches of their own
        self._pairs: dict[tuple[str, type, Any], bytes] = {}
        self._values_cached: dict[str, int] = {}  # per key, how many of its pairs `_pairs` holds
        self._statuses: dict[tuple[int, str | None], bytes] = {}
        self._keys: dict[str, bytes] = {}  # an attribute key's KeyValue.key field and the value field's tag
        self._names: dict[str, bytes] = {}  # a span's (or, in the events' encoder, an event's) name field
        self._leading: dict[int, tuple[Attributes, bytes]] = {}  # EncodedSpan.leading (its identity) -> its fields

    def attributes(self, attributes: Attributes) -> list[KeyValue]:
        """The KeyValue messages of a resource's, a scope's, an event's or a link's attributes (a few per request)."""
        pairs = (key_value(key, value) for key, value in (attributes or {}).items())
        return [pair for pair in pairs if pair is not None]

    def _fields(self, attributes: Attributes) -> list[bytes]:
        """Each attribute as a Span.attributes field on the wire. Scalars are written here (a KeyValue of a str,
        int, bool or float is a few bytes); a str, int or bool pair and a tuple of str are written once per request
        and shared; anything else goes through upb by the SDK's rules."""
        if not attributes:
            return []
        encoded: list[bytes] = []
        pairs, keys, attribute = self._pairs, self._keys, self._tag
        for key, value in attributes.items():
            kind = type(value)
            if kind is int and _INT64_MIN <= value <= _INT64_MAX:  # type: ignore[operator]
                # Counts rarely repeat: written inline, not cached.
                prefix = keys.get(key)
                if prefix is not None:
                    if 0 <= value < 0x200000 and len(prefix) < _SHORT_PREFIX:  # type: ignore[operator]
                        # At most 3 varint bytes under a short key: every length is one byte, and the field goes
                        # as pieces of the span's join (no concatenation).
                        if value < 0x80:  # type: ignore[operator]
                            number = SMALL_VARINTS[value]  # type: ignore[index]
                        elif value < 0x4000:  # type: ignore[operator]
                            number = bytes((value & 0x7F | 0x80, value >> 7))  # type: ignore[operator]
                        else:
                            number = bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))  # type: ignore[operator]
                        size = len(number) + 1
                        encoded += (attribute, SMALL_VARINTS[len(prefix) + 1 + size], prefix, SMALL_VARINTS[size])
                        encoded += (_INT_VALUE, number)
                    else:
                        number = _INT_VALUE + varint(value & _UINT64_MASK)  # type: ignore[operator]
                        inner = prefix + SMALL_VARINTS[len(number)] + number
                        encoded.append(attribute + varint(len(inner)) + inner)
                    continue
            elif kind is float:  # not shared: -0.0 equals 0.0, yet each encodes differently
                field = self._new_field(key, value, kind)
                if field is not None:
                    encoded.append(field)
                continue
            # (1,) equals (True,) but encodes differently: of sequences, only tuples of str are shared.
            shared = kind in _SHARED or (kind is tuple and all(type(item) is str for item in value))  # type: ignore[union-attr]
            field = pairs.get((key, kind, value)) if shared else None
            if field is None:
                field = self._new_field(key, value, kind)
                if field is None:
                    continue
                if shared and kind is not int and len(pairs) < _CACHE_LIMIT:
                    cached = self._values_cached.get(key, 0)
                    if cached < _VALUES_PER_KEY:
                        pairs[(key, kind, value)] = field
                        self._values_cached[key] = cached + 1
            encoded.append(field)
        return encoded

    def _new_field(self, key: str, value: Any, kind: type) -> bytes | None:
        try:
            if kind is float:
                return self._scalar_field(key, _DOUBLE_VALUE + _DOUBLE.pack(value))
            if kind is str:
                text = value.encode()  # strict: a lone surrogate raises, as upb does, and is dropped below
                return self._scalar_field(key, length_delimited(_STRING_VALUE, text))
            if kind is bool:
                return self._scalar_field(key, _BOOL_TRUE if value else _BOOL_FALSE)
            if kind is int and _INT64_MIN <= value <= _INT64_MAX:
                return self._scalar_field(key, _INT_VALUE + varint(value & _UINT64_MASK))  # two's complement
        except (UnicodeEncodeError, AttributeError, TypeError):  # a key or text not UTF-8, a key not a str
            pass
        pair = key_value(key, value)  # upb, which raises (logged, dropped) where the SDK's encoding would
        return length_delimited(self._tag, pair.SerializeToString()) if pair is not None else None

    def _scalar_field(self, key: str, any_value: bytes) -> bytes:
        prefix = self._keys.get(key)
        if prefix is None:
            name = key.encode()
            prefix = length_delimited(_KEY, name) + _VALUE
            if len(self._keys) < _CACHE_LIMIT:
                self._keys[key] = prefix
        return length_delimited(self._tag, prefix + varint(len(any_value)) + any_value)

    def span(self, span: ReadableSpan | EncodedSpan) -> bytes:
        """`span` as a ScopeSpans.spans field on the wire. Protobuf keeps a repeated field's order across the
        whole message, so the leading attributes written first come first when upb parses the span."""
        if type(span) is EncodedSpan:
            # A session's spans share one mapping of its attributes: written once. Keyed by identity, and the
            # mapping kept with its bytes, so its id cannot be another's while the entry lives.
            leading = span.leading
            known = self._leading.get(id(leading))
            if known is None or known[0] is not leading:
                known = (leading, b"".join(self._fields(leading)))
                if len(self._leading) < _CACHE_LIMIT:
                    self._leading[id(leading)] = known
            return length_delimited(_SCOPE_SPANS_SPAN, known[1] + span.body)
        return length_delimited(_SCOPE_SPANS_SPAN, self.body(span))  # type: ignore[arg-type]

    def body(self, span: ReadableSpan) -> bytes:
        """The fields of a Span message: `span` on the wire, without the ScopeSpans.spans field's tag and length."""
        context = span.context
        parent = span.parent
        parts = [_TRACE_ID, context.trace_id.to_bytes(16, "big"), _SPAN_ID, context.span_id.to_bytes(8, "big")]
        if context.trace_state:
            parts.append(length_delimited(_TRACE_STATE, _trace_state(context.trace_state).encode()))  # type: ignore[union-attr]
        if parent is not None:
            parts += (_PARENT_SPAN_ID, parent.span_id.to_bytes(8, "big"))
        parts += (self._name(_NAME, span.name), _KIND_BYTES[span.kind])
        if span.start_time:
            parts += (_START, span.start_time.to_bytes(8, "little"))
        if span.end_time:
            parts += (_END, span.end_time.to_bytes(8, "little"))
        parts += self._fields(span.attributes)
        if span.dropped_attributes:
            parts += (_DROPPED_ATTRIBUTES, varint(span.dropped_attributes))
        events, links = span.events, span.links
        if events:
            parts += [self._event_field(event) for event in events]
        if span.dropped_events:  # with a limit of 0, events are dropped and none is left
            parts += (_DROPPED_EVENTS, varint(span.dropped_events))
        if links:
            parts += [length_delimited(_LINK, self._link(link).SerializeToString()) for link in links]
        if span.dropped_links:
            parts += (_DROPPED_LINKS, varint(span.dropped_links))
        status = span.status
        if status is not None:
            parts.append(self._status(status))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def _name(self, tag: bytes, name: str) -> bytes:
        """A name's field (none for an empty name, as upb leaves a default out), written once per name."""
        field = self._names.get(name)
        if field is None:
            field = length_delimited(tag, name.encode()) if name else b""
            if len(self._names) < _CACHE_LIMIT:
                self._names[name] = field
        return field

    def _status(self, status: SdkStatus) -> bytes:
        key = (status.status_code.value, status.description)
        field = self._statuses.get(key)
        if field is None:
            message = _status(status)
            field = self._statuses[key] = length_delimited(_STATUS, message.SerializeToString() if message else b"")
        return field

    def _event_field(self, event: Event) -> bytes:
        """`event` as a Span.events field: written here as upb writes a Span.Event (fields in number order, those
        at their default left out), its attributes as a span's are; through upb when a value does not fit."""
        encoder = self._events
        if encoder is None:
            encoder = self._events = SpanEncoder(_EVENT_ATTRIBUTE)
        try:
            parts: list[bytes] = []
            if event.timestamp:
                parts += (_EVENT_TIME, event.timestamp.to_bytes(8, "little"))
            parts.append(encoder._name(_EVENT_NAME, event.name))
            parts += encoder._fields(event.attributes)
            if event.dropped_attributes:
                parts += (_EVENT_DROPPED_ATTRIBUTES, varint(event.dropped_attributes))
        except (OverflowError, UnicodeEncodeError, AttributeError, TypeError):  # a time or name upb judges itself
            return length_delimited(_EVENT, self._event(event).SerializeToString())
        return length_delimited(_EVENT, b"".join(parts))

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


def encode_request(spans: Sequence[ReadableSpan | EncodedSpan]) -> bytes:
    """The request the SDK's `encode_spans` makes, in its wire form: spans grouped by resource, then scope, in order
    of first use. Only the few resource and scope skeletons go through upb; the spans' bytes are joined in as they
    were written, never parsed into messages and serialized again."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[ReadableSpan | EncodedSpan]]] = {}
    by_id: dict[
        int, dict[InstrumentationScope | None, list[ReadableSpan | EncodedSpan]]
    ] = {}  # a Resource hashes by JSON dump
    for span in spans:
        scopes = by_id.get(id(span.resource))
        if scopes is None:
            scopes = by_id[id(span.resource)] = groups.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(span)
    encoder = SpanEncoder()
    request: list[bytes] = []
    for resource, scopes in groups.items():
        skeleton = ResourceSpans(schema_url=resource.schema_url)
        skeleton.resource.SetInParent()
        skeleton.resource.attributes.extend(encoder.attributes(resource.attributes))
        resource_spans = [skeleton.SerializeToString()]
        for scope, members in scopes.items():
            scope_spans = ScopeSpans()
            scope_spans.scope.SetInParent()
            if scope is not None:
                scope_spans.scope.name = scope.name
                if scope.version:
                    scope_spans.scope.version = scope.version
                scope_spans.scope.attributes.extend(encoder.attributes(scope.attributes))
                if scope.schema_url:
                    scope_spans.schema_url = scope.schema_url
            # A message's fields may come in any order on the wire, and a repeated field keeps its order: the spans
            # follow the skeleton's scope and schema url, as upb would read them into it.
            body = b"".join([scope_spans.SerializeToString(), *[encoder.span(span) for span in members]])
            resource_spans.append(length_delimited(_RESOURCE_SCOPE_SPANS, body))
        request.append(length_delimited(_REQUEST_RESOURCE_SPANS, b"".join(resource_spans)))
    return b"".join(request)


def encode_spans(spans: Sequence[ReadableSpan | EncodedSpan]) -> ExportTraceServiceRequest:
    """`encode_request` as the message (for tests and for callers that want one): what the SDK's encoder returns."""
    request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(encode_request(spans))
    return request
