"""Backfill's LLM-call spans, made straight into the SDK's ReadableSpan its exporter takes.

The span is the live agent's (`build_llm_span`, as `readable_span` would make it a ReadableSpan; a test holds the
two equal), built in one step: backfill makes one per response, tens of thousands a run, and the intermediate
FinishedSpan with its attribute copies was a fifth of the time a span cost before its encoding.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_claude.backfill.span_bodies import SpanBody, TurnTraceIds, llm_span_parts
from otel_claude.export.otlp_spans import EncodedSpan
from otel_claude.export.readable import readable_span
from otel_claude.live.api_errors import api_error_span
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.model import ApiError, LlmCall

_UNSET = Status(StatusCode.UNSET)


class LlmSpans:
    """Makes the ReadableSpan of a call: `spans(call, cost, session_span_attributes)`, and of a failed request."""

    def __init__(self, resource: Resource, scope: InstrumentationScope, price_table_version: str) -> None:
        self._resource, self._scope, self._version = resource, scope, price_table_version
        self._trace_id = TurnTraceIds()

    def __call__(self, call: LlmCall, cost: CostResult, session: Mapping[str, AttributeValue]) -> ReadableSpan:
        trace_id = self._trace_id(call.session_id, call.prompt_id)
        name, context, start, end, own = llm_span_parts(call, cost, self._version, trace_id)
        return ReadableSpan(
            name=name,
            context=context,
            parent=None,
            resource=self._resource,
            attributes={**session, **own},
            kind=SpanKind.CLIENT,
            status=_UNSET,
            start_time=start,
            end_time=end,
            instrumentation_scope=self._scope,
        )

    def encoded(self, body: SpanBody, session: Mapping[str, AttributeValue]) -> EncodedSpan:
        """The span a reader process wrote (backfill/span_bodies.py), with `session`'s attributes leading."""
        return EncodedSpan(self._resource, self._scope, body.leading(session), body.body)

    def api_error(self, session_id: str, error: ApiError, session: Mapping[str, AttributeValue]) -> ReadableSpan:
        """The live agent's span of a failed request (live/api_errors.py), in its turn's trace. Rare: made through
        the general FinishedSpan -> ReadableSpan step. The session's model is unknown here (the agent has it from
        SessionStart), so the span is named `chat`, as the agent names it for a session whose model it was not told."""
        trace_id = self._trace_id(session_id, error.prompt_id)
        span = api_error_span(session_id, error, session, trace_id, None, None)
        return readable_span(span, self._resource, self._scope)
