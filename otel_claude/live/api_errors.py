"""The span of a request that failed (a transcript's `isApiErrorMessage` line), for the live agent and backfill.

A `chat` span with no response and no tokens, the API's error as `error.type` in its bounded form only: the
transcript's error type is free text as far as we know. Its id comes from the line's message id, request id or
place in the file, so every read of the transcript, live or backfill, makes the same span.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.export import ids
from otel_claude.export.span_emitter import FinishedSpan
from otel_claude.live import error_classes
from otel_claude.transcripts.model import ApiError


def api_error_span_id(session_id: str, error_key: str) -> int:
    """A failed API call (no response id): from the error line's message id, request id or place in the file."""
    return ids.span_id_for("api_error", session_id, error_key)


def api_error_span(
    session_id: str,
    error: ApiError,
    session_span: Mapping[str, AttributeValue],
    trace_id: int,
    parent: int | None,
    model: str | None,
) -> FinishedSpan:
    """`session_span`: the session's span attributes (transcripts/attributes.py), `model` the session's if known."""
    error_type = error_classes.api_error_type(error.error_type) or error_classes.OTHER
    attributes: dict[str, AttributeValue] = {
        **session_span,
        sc.GEN_AI_OPERATION_NAME: sc.GEN_AI_OPERATION_CHAT,
        sc.CC_SPAN_TYPE: sc.SPAN_TYPE_LLM,
        sc.ERROR_TYPE: error_type,
    }
    optional: tuple[tuple[str, AttributeValue | None], ...] = (
        (sc.HTTP_RESPONSE_STATUS_CODE, error.status),
        (sc.CC_REQUEST_ID, error.request_id),
        (sc.CC_PROMPT_ID, error.prompt_id),
        (sc.GEN_AI_AGENT_ID, error.agent_id),
    )
    attributes.update({name: value for name, value in optional if value is not None})
    return FinishedSpan(
        name=sc.chat_span_name(model) if model else sc.GEN_AI_OPERATION_CHAT,
        trace_id=trace_id,
        span_id=api_error_span_id(session_id, error.key(session_id)),
        parent_span_id=parent,
        start_ns=min(error.start_ns, error.timestamp_ns),
        end_ns=error.timestamp_ns,
        attributes=attributes,
        kind=SpanKind.CLIENT,
        error=f"{error.status} {error_type}" if error.status else error_type,
    )
