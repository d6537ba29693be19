"""A span processor that hands the next processor a scrubbed copy of every span.

The SDK freezes a span's attributes before `on_end`; rather than flipping its private immutability flag
(as traceloop-sdk does), this builds a new `ReadableSpan` with scrubbed attributes, event and link
attributes, status description and name, as logfire's `SpanProcessorWrapper` does. A span with nothing
to remove is passed on as it is. Whatever fails inside scrubbing drops the data it failed on, never
passes it on unscrubbed, and never raises into the SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status

from otel_claude import semconv
from otel_claude.redaction.names import bound_span_name, bounded_name
from otel_claude.redaction.patterns import marker
from otel_claude.redaction.scrubber import DEFAULT_SCRUBBER, SCRUB_FAILED, UNSAFE_NAME, Scrubber

logger = logging.getLogger(__name__)


class RedactingSpanProcessor(SpanProcessor):
    """Wraps `next_processor` (e.g. a BatchSpanProcessor) and gives it scrubbed copies of ended spans."""

    def __init__(self, next_processor: SpanProcessor, scrubber: Scrubber | None = None) -> None:
        self._next = next_processor
        self._scrubber = scrubber if scrubber is not None else DEFAULT_SCRUBBER

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._next.on_start(span, parent_context=parent_context)
        except Exception:
            logger.exception("span processor on_start failed")

    def _on_ending(self, span: Span) -> None:
        # The SDK's hook (1.31+) for processors that need the span while it is still writable; forwarded as is.
        hook = getattr(self._next, "_on_ending", None)
        if hook is None:
            return
        try:
            hook(span)
        except Exception:
            logger.exception("span processor _on_ending failed")

    def on_end(self, span: ReadableSpan) -> None:
        scrubbed: ReadableSpan | None
        try:
            scrubbed = self.scrub_span(span)
        except Exception:
            logger.warning("redaction of span failed; its attributes and events were dropped", exc_info=True)
            scrubbed = _stripped_copy(span)
        if scrubbed is None:
            return
        try:
            self._next.on_end(scrubbed)
        except Exception:
            logger.exception("span processor on_end failed")

    def shutdown(self) -> None:
        self._next.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._next.force_flush(timeout_millis)

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """The span itself when nothing is secret, else a new ReadableSpan holding scrubbed copies."""
        scrubber = self._scrubber
        changed: list[str] = []
        names: list[str] = []

        attrs = scrubber.scrub_attributes(span.attributes)
        changed.extend(attrs.changed_keys)
        names.extend(attrs.names)

        events: list[Event] | None = None
        for i, event in enumerate(span.events):
            # Event names are hook event names (or ours): names, so bounded like the attribute that holds them.
            ev_name = bounded_name(event.name)
            ev_name_found = [UNSAFE_NAME] if ev_name != event.name else []
            ev_attrs = scrubber.scrub_attributes(event.attributes)
            if not ev_attrs.changed_keys and not ev_name_found:
                continue
            if events is None:
                events = list(span.events)
            events[i] = Event(ev_name, _bounded(ev_attrs.attributes, event.dropped_attributes), event.timestamp)
            changed.extend(f"events.{ev_name}.{key}" for key in ev_attrs.changed_keys)
            if ev_name_found:
                changed.append(f"events.{i}.name")
            names.extend(ev_name_found + ev_attrs.names)

        links: list[Link] | None = None
        for i, link in enumerate(span.links):
            link_attrs = scrubber.scrub_attributes(link.attributes)
            if not link_attrs.changed_keys:
                continue
            if links is None:
                links = list(span.links)
            links[i] = Link(link.context, _bounded(link_attrs.attributes, link.dropped_attributes))
            changed.extend(f"links.{i}.{key}" for key in link_attrs.changed_keys)
            names.extend(link_attrs.names)

        status = span.status
        if status.description:
            description, found = scrubber.scrub_text(status.description)
            if found:
                status = Status(status.status_code, description)
                changed.append("status.description")
                names.extend(found)

        bounded = bound_span_name(span.name)
        if bounded is not None:  # `execute_tool Bash`: the same bounded form as its gen_ai.tool.name
            name, name_found = bounded, ([UNSAFE_NAME] if bounded != span.name else [])
        else:
            name, name_found = scrubber.scrub_text(span.name)
        if name_found:
            changed.append("span.name")
            names.extend(name_found)

        if not changed:
            return span
        new_attrs = dict(attrs.attributes)
        new_attrs[semconv.CC_REDACTED_KEYS] = tuple(dict.fromkeys(changed))
        new_attrs[semconv.CC_REDACTED_PATTERNS] = tuple(dict.fromkeys(names))
        return _copy(
            span,
            name=name,
            attributes=_bounded(new_attrs, span.dropped_attributes),
            events=_bounded_list(events if events is not None else span.events, span.dropped_events),
            links=_bounded_list(links if links is not None else span.links, span.dropped_links),
            status=status,
        )


def _bounded(attributes: dict[str, Any], dropped: int) -> BoundedAttributes:
    # Keep the SDK's count of attributes dropped by limits, which exporters send on.
    bounded = BoundedAttributes(maxlen=None, attributes=attributes, immutable=True)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: Sequence[Any], dropped: int) -> BoundedList[Any]:
    bounded: BoundedList[Any] = BoundedList(maxlen=None)
    bounded.extend(items)
    bounded.dropped = dropped
    return bounded


def _copy(
    span: ReadableSpan,
    *,
    name: str,
    attributes: BoundedAttributes,
    events: BoundedList[Any],
    links: BoundedList[Any],
    status: Status,
) -> ReadableSpan:
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _stripped_copy(span: ReadableSpan) -> ReadableSpan | None:
    """Last resort when scrubbing failed as a whole: keep the span's shape, drop everything it carried."""
    try:
        return _copy(
            span,
            name=marker(SCRUB_FAILED),
            attributes=_bounded({semconv.CC_REDACTED_KEYS: ("*",), semconv.CC_REDACTED_PATTERNS: (SCRUB_FAILED,)}, 0),
            events=_bounded_list((), 0),
            links=_bounded_list([Link(link.context) for link in span.links], 0),
            status=Status(span.status.status_code),
        )
    except Exception:
        logger.warning("span dropped: it could not be scrubbed nor stripped", exc_info=True)
        return None
