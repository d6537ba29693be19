"""Finished spans as the SDK's ReadableSpan, for a caller that hands them to a SpanExporter itself.

Backfill builds tens of thousands of spans whose attributes it made itself (ids, model names, counts: all valid
attribute values) and must know which of them the receiver acknowledged, so it calls the exporter directly, as the
agent does with its outbox. Going through `Tracer.start_span` would clean every attribute again and hand the span
to processors that cannot report an export's outcome; this builds the same ReadableSpan the SDK would end.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_claude.export.span_emitter import FinishedSpan

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=_SAMPLED)


def _frozen(attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    # The SDK stores a sequence value as a tuple; so does this, so both spans compare equal.
    return {k: tuple(v) if isinstance(v, list) else v for k, v in attributes.items()}


def readable_span(span: FinishedSpan, resource: Resource, scope: InstrumentationScope) -> ReadableSpan:
    """The ReadableSpan `emit` would make of `span`, without a tracer."""
    events = [_frozen(e.attributes) for e in span.events]
    return built_span(span, _frozen(span.attributes), events, resource, scope)


def built_span(
    span: FinishedSpan,
    attributes: dict[str, AttributeValue],
    event_attributes: list[dict[str, AttributeValue]],
    resource: Resource,
    scope: InstrumentationScope,
) -> ReadableSpan:
    """`span` as a ReadableSpan with its attributes and its events' (in order) already as the SDK stores them."""
    parent = _context(span.trace_id, span.parent_span_id) if span.parent_span_id is not None else None
    return ReadableSpan(
        name=span.name,
        context=_context(span.trace_id, span.span_id),
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=tuple(Event(e.name, a, e.timestamp_ns) for e, a in zip(span.events, event_attributes, strict=True)),
        links=tuple(Link(_context(trace_id, span_id)) for trace_id, span_id in span.links),
        kind=span.kind,
        status=_UNSET if span.error is None else Status(StatusCode.ERROR, span.error),
        start_time=span.start_ns,
        end_time=max(span.end_ns, span.start_ns),
        instrumentation_scope=scope,
    )
