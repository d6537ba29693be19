"""Emits finished spans after the fact, with chosen ids, parents and times.

The agent never keeps an SDK span open: its state is plain data (start time, attributes) that survives a restart
in a snapshot, and a span is built whole when its end event arrives. The parent need not be alive in this
process: a child names its parent by id, so a subagent that outlives its Agent tool call, or a turn resumed
after an agent restart, still nests correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_claude.export.ids import choose_ids, release_ids


@dataclass(frozen=True)
class SpanEvent:
    name: str
    timestamp_ns: int
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class FinishedSpan:
    """Everything needed to build one span."""

    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    attributes: Mapping[str, AttributeValue]
    kind: SpanKind = SpanKind.INTERNAL
    error: str | None = None  # set: status ERROR with this description
    events: Sequence[SpanEvent] = ()
    links: Sequence[tuple[int, int]] = ()  # (trace_id, span_id) of related spans, e.g. a turn's session


# Where finished spans go: `tracer_sink(tracer)`, or the agent's DirectSpans (export/direct_spans.py).
SpanSink = Callable[[FinishedSpan], None]


def tracer_sink(tracer: trace.Tracer) -> SpanSink:
    """Spans built and ended on `tracer` (see `emit`)."""
    return partial(emit, tracer)


def emit(tracer: trace.Tracer, span: FinishedSpan) -> None:
    """Builds and ends `span` on `tracer`, whose provider must use a DeterministicIdGenerator."""
    parent_context = None
    if span.parent_span_id is not None:
        parent = _span_context(span.trace_id, span.parent_span_id)
        parent_context = trace.set_span_in_context(NonRecordingSpan(parent))
    token = choose_ids(span.trace_id, span.span_id)
    try:
        sdk_span = tracer.start_span(
            span.name,
            context=parent_context,
            kind=span.kind,
            attributes=dict(span.attributes),
            start_time=span.start_ns,
            links=[Link(_span_context(trace_id, span_id)) for trace_id, span_id in span.links],
        )
    finally:
        release_ids(token)
    for event in span.events:
        sdk_span.add_event(event.name, attributes=dict(event.attributes), timestamp=event.timestamp_ns)
    if span.error is not None:
        sdk_span.set_status(Status(StatusCode.ERROR, span.error))
    sdk_span.end(end_time=max(span.end_ns, span.start_ns))


def _span_context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
