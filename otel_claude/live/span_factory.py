"""What every handler of the event processor shares: the tracer, metrics, settings, and span helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.export.span_emitter import FinishedSpan, SpanEvent, SpanSink, tracer_sink
from otel_claude.live.events import HookInput
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.session_attributes import shared_session_attributes
from otel_claude.live.state import HeldSpan, OpenSpan, PendingEvent, Session
from otel_claude.redaction import scrub_value
from otel_claude.redaction.values import MAX_VALUE
from otel_claude.transcripts.attributes import SessionAttributes, project_label

__all__ = ["ProcessorSettings", "SpanFactory", "json_text", "project_label", "remember", "size_of"]

MAX_EVENTS_PER_SPAN = 128  # the SDK's default span event limit
MAX_CLOSED_IDS = 512
MAX_TEXT_CHARS = 4096


# Takes a finished turn or subagent span (and the agent id of a subagent's) to emit once its transcript settled;
# False: not held, emit now.
SpanHolder = Callable[[Session, str | None, HeldSpan], bool]


@dataclass(frozen=True)
class ProcessorSettings:
    capture_content: bool = False
    project_label: str = "name"  # name | hash | none
    user_name: str = ""
    settle_s: float = 1.5


def json_text(value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """`value` as text of at most `limit` characters (plus a note of how many were cut).

    A text that is cut is redacted whole first: cut first, a JSON document loses its shape and a quoted value
    its closing quote, and the redacting processor's key rules would miss what is left of a secret.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    # Only what is kept, plus a margin as long as the longest value the key rules read past a key (values.py),
    # is scrubbed: a 10 MB tool output costs no more than a 12 KB one.
    kept = scrub_value(text[: limit + MAX_VALUE])[0]
    return kept if len(kept) <= limit else kept[:limit] + f"...[{len(text) - limit} more chars]"


def size_of(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass"))


def remember(bounded: list[str], item: str) -> None:
    bounded.append(item)
    if len(bounded) > MAX_CLOSED_IDS:
        del bounded[: len(bounded) - MAX_CLOSED_IDS]


class SpanFactory:
    """Where spans go, metrics and settings, plus the helpers that turn state into spans and labels."""

    def __init__(self, spans: trace.Tracer | SpanSink, metrics: HookMetrics, settings: ProcessorSettings) -> None:
        # A tracer (tests, tools) or the agent's sink that builds the tracer's spans directly (export/direct_spans.py).
        self.emit: SpanSink = tracer_sink(spans) if isinstance(spans, trace.Tracer) else spans
        self.metrics = metrics
        self.settings = settings
        self.holder: SpanHolder | None = None  # set by the usage tracker: it knows when a transcript settled

    def session_attributes(self, session: Session) -> SessionAttributes:
        """The session's span attributes and metric labels, from the builder backfill uses too."""
        return shared_session_attributes(session.session_id, session.project, self.settings.user_name, session.model)

    def labels(self, session: Session) -> Mapping[str, str]:
        """The bounded label set every metric of this session carries (shared and read-only: copy to change)."""
        return self.session_attributes(session).metric

    def common_attributes(self, session: Session) -> dict[str, AttributeValue]:
        """Session-wide attributes on every span, so Tempo finds all turns of a session."""
        return dict(self.session_attributes(session).span)

    def event_attributes(self, event: HookInput) -> dict[str, AttributeValue]:
        """Safe metadata of any event; the whole payload only with content capture on."""
        attributes: dict[str, AttributeValue] = {sc.CC_HOOK_EVENT: event.hook_event_name}
        # The fields the payload carried, without serialising it (a PostToolBatch holds every tool response).
        fields = sorted(name for name in event.model_fields_set if getattr(event, name, None) is not None)
        attributes[sc.CC_EVENT_FIELDS] = fields
        if event.permission_mode:
            attributes[sc.CC_PERMISSION_MODE] = event.permission_mode
        if event.effort_level:
            attributes[sc.CC_EFFORT] = event.effort_level
        if self.settings.capture_content:
            attributes[sc.CC_EVENT_PAYLOAD] = json_text(event.model_dump(mode="json"))
        return attributes

    def open_span(
        self,
        name: str,
        trace_id: int,
        span_id: int,
        parent_span_id: int | None,
        start_ns: int,
        session: Session,
        attributes: Mapping[str, Any],
    ) -> OpenSpan:
        return OpenSpan(
            name=name,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_span_id,
            start_ns=start_ns,
            attributes={**self.common_attributes(session), **attributes},
        )

    @staticmethod
    def add_event(span: OpenSpan, name: str, timestamp_ns: int, attributes: Mapping[str, Any]) -> None:
        if len(span.events) < MAX_EVENTS_PER_SPAN:
            span.events.append(PendingEvent(name=name, timestamp_ns=timestamp_ns, attributes=dict(attributes)))

    def finish_framing(
        self,
        session: Session,
        span: OpenSpan,
        end_ns: int,
        attributes: Mapping[str, Any],
        error: str | None = None,
        *,
        agent_id: str | None = None,
    ) -> None:
        """Ends a turn or subagent span: held until its transcript settled, so it carries its LLM calls' totals."""
        held = HeldSpan(span=span, end_ns=end_ns, attributes=dict(attributes), error=error)
        if self.holder is None or not self.holder(session, agent_id, held):
            self.finish(span, end_ns, attributes, error)

    def finish(
        self,
        span: OpenSpan,
        end_ns: int,
        attributes: Mapping[str, Any] | None = None,
        error: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> None:
        self.emit(
            FinishedSpan(
                name=span.name,
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_span_id=span.parent_span_id,
                start_ns=span.start_ns,
                end_ns=end_ns,
                attributes={**span.attributes, **(attributes or {})},
                kind=kind,
                error=error,
                events=tuple(SpanEvent(e.name, e.timestamp_ns, e.attributes) for e in span.events),
                links=tuple(span.links),
            ),
        )
