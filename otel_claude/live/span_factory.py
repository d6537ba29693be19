"""What every handler of the event processor shares: the tracer, metrics, settings, and span helpers."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.export.span_emitter import FinishedSpan, SpanEvent, emit
from otel_claude.live.events import HookInput
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.state import OpenSpan, PendingEvent, Session
from otel_claude.redaction import scrub_value
from otel_claude.redaction.names import is_bounded_project
from otel_claude.redaction.values import MAX_VALUE

MAX_EVENTS_PER_SPAN = 128  # the SDK's default span event limit
MAX_CLOSED_IDS = 512
MAX_TEXT_CHARS = 4096


@dataclass(frozen=True)
class ProcessorSettings:
    capture_content: bool = False
    project_label: str = "name"  # name | hash | none
    user_name: str = ""
    settle_s: float = 1.5


def project_label(cwd: str | None, mode: str) -> str | None:
    """A bounded label for the session's project: the directory name, a short hash of the path, or none."""
    if not cwd or mode == "none":
        return None
    digest = hashlib.sha256(cwd.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    if mode == "hash":
        return digest
    name = os.path.basename(os.path.normpath(cwd)) or "/"
    # A directory name that does not look like a name (a token, a sentence) goes out as its hash instead.
    return name if name == "/" or is_bounded_project(name) else digest


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
    """Tracer, metrics and settings, plus the helpers that turn state into spans and labels."""

    def __init__(self, tracer: trace.Tracer, metrics: HookMetrics, settings: ProcessorSettings) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.settings = settings

    def labels(self, session: Session) -> dict[str, str]:
        """The bounded label set every metric of this session carries."""
        labels: dict[str, str] = {}
        if session.project:
            labels[sc.CC_PROJECT] = session.project
        if self.settings.user_name:
            labels[sc.USER_NAME] = self.settings.user_name
        return labels

    def common_attributes(self, session: Session) -> dict[str, AttributeValue]:
        """Session-wide attributes on every span, so Tempo finds all turns of a session."""
        attributes: dict[str, AttributeValue] = {
            sc.SESSION_ID: session.session_id,
            sc.GEN_AI_CONVERSATION_ID: session.session_id,
            sc.GEN_AI_PROVIDER_NAME: sc.GEN_AI_PROVIDER_ANTHROPIC,
        }
        if session.project:
            attributes[sc.CC_PROJECT] = session.project
        if session.model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = session.model
        return attributes

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

    def finish(
        self,
        span: OpenSpan,
        end_ns: int,
        attributes: Mapping[str, Any] | None = None,
        error: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> None:
        emit(
            self.tracer,
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
