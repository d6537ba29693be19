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
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.backfill.span_bodies import SpanBody
from otel_claude.export.otlp_spans import EncodedSpan
from otel_claude.export.readable import readable_span
from otel_claude.live.api_errors import api_error_span
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.llm_calls import llm_attributes, llm_span_id, turn_trace_id
from otel_claude.transcripts.model import ApiError, LlmCall

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_MAX_TURNS = 4096  # trace ids remembered (one per session and prompt); forgotten all at once when full


class LlmSpans:
    """Makes the ReadableSpan of a call: `spans(call, cost, session_span_attributes)`, and of a failed request."""

    def __init__(self, resource: Resource, scope: InstrumentationScope, price_table_version: str) -> None:
        self._resource, self._scope, self._version = resource, scope, price_table_version
        self._trace_ids: dict[tuple[str, str | None], int] = {}  # a turn's calls share its trace id

    def _trace_id(self, session_id: str, prompt_id: str | None) -> int:
        turn = (session_id, prompt_id)
        trace_id = self._trace_ids.get(turn)
        if trace_id is None:
            if len(self._trace_ids) >= _MAX_TURNS:
                self._trace_ids.clear()
            trace_id = self._trace_ids[turn] = turn_trace_id(*turn)
        return trace_id

    def __call__(self, call: LlmCall, cost: CostResult, session: Mapping[str, AttributeValue]) -> ReadableSpan:
        trace_id = self._trace_id(call.session_id, call.prompt_id)
        attributes = {**session, **llm_attributes(call, cost, self._version)}
        reasons = attributes.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
        if isinstance(reasons, list):
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(reasons)  # as the SDK stores a sequence
        start = min(call.start_ns, call.timestamp_ns)
        return ReadableSpan(
            name=sc.chat_span_name(call.model),
            context=SpanContext(trace_id, llm_span_id(call), False, _SAMPLED),
            parent=None,
            resource=self._resource,
            attributes=attributes,
            kind=SpanKind.CLIENT,
            status=_UNSET,
            start_time=start,
            end_time=max(call.timestamp_ns, call.end_ns or 0, start),
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
