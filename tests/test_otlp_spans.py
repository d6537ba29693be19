"""Our OTLP span encoding makes exactly the request the SDK's own encoder makes: the same bytes, for the spans
every fixture session yields and for spans carrying every attribute type, event, link, status and scope shape."""

from __future__ import annotations

import logging
import math

import pytest
from conftest import SESSION_NAMES
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import AttributeValue
from test_processor_spans import run_session

from otel_claude.export.otlp_exporter import otlp_span_exporter
from otel_claude.export.otlp_spans import encode_request, encode_spans


def assert_same_request(spans: list[ReadableSpan]) -> None:
    ours, sdk = encode_spans(spans), sdk_encode_spans(spans)
    assert ours == sdk
    assert ours.SerializeToString(deterministic=True) == sdk.SerializeToString(deterministic=True)


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_fixture_session_spans_encode_as_the_sdk_encodes_them(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    spans = run_session(name, tracer_provider, meter_provider, span_exporter)
    assert spans
    assert_same_request(spans)
    assert_same_request(spans[:1])


def _context(trace_id: int, span_id: int, remote: bool = False, state: TraceState | None = None) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=remote, trace_flags=TraceFlags(1), trace_state=state)


VALUES: dict[str, AttributeValue] = {
    "str": "text",
    "empty": "",
    "true": True,
    "false": False,
    "one": 1,
    "zero": 0,
    "negative": -(2**63),
    "float": 0.25,
    "negative_zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "strs": ("a", "b"),
    "bools": (True, False),
    "ints": (1, 0),
    "floats": (-0.0, 1.5),
    "empty_tuple": (),
}


def _span(
    index: int,
    resource: Resource,
    scope: InstrumentationScope | None,
    attributes: BoundedAttributes | dict[str, AttributeValue],
) -> ReadableSpan:
    parent = None if index % 3 == 0 else _context(7, 100 + index, remote=index % 3 == 2)
    return ReadableSpan(
        name=f"span {index}",
        context=_context(7, 200 + index, state=TraceState([("vendor", "v1"), ("other", "x")]) if index % 2 else None),
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=(Event("event", {"n": index, "f": 0.5, "same": "value"}, 5 + index), Event("bare", None, 6))
        if index % 2
        else (),
        links=(Link(_context(9, 300 + index, remote=True), {"linked": True, "w": 1.5}), Link(_context(9, 301)))
        if index
        else (),
        kind=list(SpanKind)[index % len(SpanKind)],
        status=[Status(StatusCode.UNSET), Status(StatusCode.OK), Status(StatusCode.ERROR, "failed")][index % 3],
        start_time=1_000 + index,
        end_time=2_000 + index,
        instrumentation_scope=scope,
    )


def test_every_attribute_type_event_link_status_and_scope_encodes_as_the_sdk_encodes_it() -> None:
    first = Resource({"service.name": "a", "n": 1})
    equal_to_first = Resource({"service.name": "a", "n": 1})  # another object, equal: grouped with the first
    other = Resource({"service.name": "b"}, schema_url="https://opentelemetry.io/schemas/1.37.0")
    scopes = [
        InstrumentationScope("otel_claude", "1.0"),
        InstrumentationScope("bare"),
        InstrumentationScope("full", "2", "https://example.com/schema", {"scope.attr": "x"}),
        None,
    ]
    bounded = BoundedAttributes(maxlen=3, attributes={f"k{i}": i for i in range(6)}, immutable=False)
    spans = []
    for index in range(24):
        attributes: BoundedAttributes | dict[str, AttributeValue] = (
            bounded if index == 5 else {**VALUES, "index": index, "shared": "same"}
        )
        resource = [first, equal_to_first, other][index % 3]
        spans.append(_span(index, resource, scopes[index % 4], attributes))
    assert_same_request(spans)


def test_values_equal_in_python_but_not_on_the_wire_are_not_shared() -> None:
    resource = Resource({})
    values: list[AttributeValue] = [0.0, -0.0, 1, True, (1,), (True,), 1.5, 2.5]
    pairs = [{"v": value} for value in values]
    assert_same_request([_span(i, resource, None, attributes) for i, attributes in enumerate(pairs)])


def test_a_key_with_a_new_value_per_span_stops_filling_the_pair_cache() -> None:
    """A response id differs on every span: past a bound of values per key its pairs are written, not cached, so
    a backfill reader's encoder (one for its whole corpus) keeps its cache for the values that repeat. Same bytes."""
    from otel_claude.export import otlp_spans

    resource = Resource({})
    count = otlp_spans._VALUES_PER_KEY + 500
    spans = [_span(i, resource, None, {"response.id": f"msg_{i:06d}", "model": "m"}) for i in range(count)]
    assert_same_request(spans)  # one request, past the bound
    encoder = otlp_spans.SpanEncoder()
    bodies = [encoder.body(span) for span in spans]
    cached_keys = [key for key, _kind, _value in encoder._pairs]
    assert cached_keys.count("response.id") == otlp_spans._VALUES_PER_KEY and cached_keys.count("model") == 1
    assert bodies == [otlp_spans.SpanEncoder().body(span) for span in spans]


def test_an_attribute_the_sdk_cannot_encode_is_dropped_and_logged_as_the_sdk_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attributes = {"good": 1, "bad": object(), "nested_bad": ("a", object())}
    span = _span(0, Resource({}), None, attributes)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        assert_same_request([span])
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name.startswith("otel_claude.export.")] == [
        "Failed to encode key bad",
        "Failed to encode key nested_bad",
    ]


def test_the_exporter_is_the_sdks_own_with_only_the_encoding_replaced() -> None:
    exporter = otlp_span_exporter()
    try:
        assert isinstance(exporter, OTLPSpanExporter)
        span = _span(1, Resource({"service.name": "x"}), InstrumentationScope("s"), dict(VALUES))
        wire = exporter._translate_data([span])
        assert isinstance(wire, bytes) and wire == encode_request([span])
        assert ExportTraceServiceRequest.FromString(wire) == sdk_encode_spans([span])
        # The SDK makes a new channel and stub after UNAVAILABLE: the new stub sends bytes as they are too.
        for _ in range(2):
            assert exporter._client.Export._request_serializer(wire) is wire  # type: ignore[union-attr]
            exporter._initialize_channel_and_stub()
    finally:
        exporter.shutdown()


def test_values_at_the_edges_of_the_wire_format_encode_as_the_sdk_encodes_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Lengths of one, two and three varint bytes, the int64 range and past it, non-ASCII and unencodable text,
    the largest times, and events dropped to a limit of 0: what a hand-written field could get wrong."""
    from opentelemetry.sdk.util import BoundedList

    edges: dict[str, AttributeValue] = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "minus_one": -1,
        "past_max": 2**63,  # the SDK cannot encode it: dropped and logged by both
        "long": "x" * 200,
        "longer": "y" * 20_000,
        "accents": "café ☕ 日本",
        "surrogate": "bad \ud800 text",  # not UTF-8: dropped and logged by both
        "key ☕": "non-ASCII key",
        "false": False,
        "zero": 0,
        "empty": "",
    }
    dropped_events = BoundedList(maxlen=0)
    dropped_events.append(Event("gone", None, 1))
    resource = Resource({"service.name": "edges"})
    spans = [
        _span(0, resource, None, dict(edges)),
        ReadableSpan(
            name="n" * 130 + " ☕",
            context=_context(2**128 - 1, 2**64 - 1),
            parent=_context(1, 1),
            resource=resource,
            attributes={"a": 1},
            events=dropped_events,
            start_time=2**64 - 1,
            end_time=2**64 - 1,
        ),
        ReadableSpan(name="", context=_context(3, 3), resource=resource, start_time=0, end_time=0),
    ]
    with caplog.at_level(logging.ERROR):
        assert_same_request(spans)
    failed = sorted(r.getMessage().split(":")[0] for r in caplog.records if r.name.startswith("otel_claude.export."))
    assert failed == ["Failed to encode key past_max", "Failed to encode key surrogate"]


def test_counts_written_inline_encode_as_the_sdk_encodes_them() -> None:
    """An int under a key already written is written inline, in pieces: every varint length at its edges, a key
    long enough to need a second length byte, negative and int64 values (the general path), in one request."""
    edges = [0, 1, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**28, 2**63 - 1, -1, -(2**63)]
    keys = ["n", *("k" * length for length in range(114, 128)), "k" * 200]
    resource = Resource({"service.name": "counts"})
    spans = [_span(index, resource, None, dict.fromkeys(keys, value)) for index, value in enumerate([5, *edges])]
    assert_same_request(spans)


def test_keys_the_sdk_cannot_encode_drop_only_their_attribute_as_in_the_sdk(caplog: pytest.LogCaptureFixture) -> None:
    """A key that is not UTF-8 or not a str, whatever its value's type: logged and dropped, the span still sent.
    (A None key is upb's unset key, "": encoded by both.)"""
    odd: dict[object, object] = {"k\ud800": 1.5, "j\ud800": 1, 1: "a", None: True, 2: 0.5, "fine": 2.5}
    span = _span(0, Resource({}), None, odd)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        assert_same_request([span])
    failed = [r.getMessage() for r in caplog.records if r.name.startswith("otel_claude.export.")]
    assert len(failed) == 4 and all(message.startswith("Failed to encode key") for message in failed)


def test_events_written_by_hand_encode_as_the_sdk_encodes_them(caplog: pytest.LogCaptureFixture) -> None:
    """A span's events are written field by field too: a time of 0 and the largest, an empty and a non-ASCII name,
    every attribute type (an int under a key seen before: the inline path), attributes past a limit (their dropped
    count), a value and a key the SDK cannot encode (dropped and logged by both), and a name or time upb refuses."""
    limited = BoundedAttributes(maxlen=2, attributes={f"k{i}": i for i in range(5)}, immutable=False)
    events = [
        Event("PostToolUse", {**VALUES, "cc.event.fields": ("cwd", "session_id")}, 1),
        Event("PostToolUse", {"one": 2, "k" * 130: 3, "strs": ("a", "b")}, 2**64 - 1),
        Event("", None, 0),
        Event("café ☕", limited, 3),
        Event("odd", {"bad": object(), "k\ud800": "x", "fine": "y"}, 4),  # type: ignore[dict-item]
    ]
    resource = Resource({"service.name": "events"})
    spans = [
        ReadableSpan(name=f"s{i}", context=_context(5, 10 + i), resource=resource, events=events[i:], start_time=1)
        for i in range(len(events))
    ]
    with caplog.at_level(logging.ERROR):
        assert_same_request(spans)
    failed = [r.getMessage() for r in caplog.records if r.name.startswith("otel_claude.export.")]
    assert len(failed) == 2 * len(events) and all(message.startswith("Failed to encode key") for message in failed)
    for refused in (Event("bad \ud800 name", {"a": 1}, 1), Event("late", {"a": 1}, 2**64)):
        span = ReadableSpan(name="r", context=_context(6, 1), resource=resource, events=(refused,), start_time=1)
        with pytest.raises(Exception) as ours:
            encode_request([span])
        with pytest.raises(Exception) as sdk:
            sdk_encode_spans([span])
        assert type(ours.value) is type(sdk.value)
