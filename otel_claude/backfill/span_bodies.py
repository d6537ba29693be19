"""A call's span in its OTLP wire form, written where the call was read: in backfill's reader processes.

Building and encoding each call's span was a third of the exporting process's work, and that process is
backfill's bottleneck while its readers wait on it. A reader now writes each new call's span body (the LlmSpans
span of backfill/spans.py without its session attributes, which only the exporting process knows: the project is
taken from a session's first call, which may be in another reader's file) and the exporting process writes the
session's attributes in front of it (export/otlp_spans.EncodedSpan). The bytes that reach the receiver are the
ones the ReadableSpan path gives (tests/cost/test_span_bodies.py). No SDK import here: a reader starts fast.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.export.otlp_spans import SpanEncoder
from otel_claude.transcripts.attributes import session_attributes
from otel_claude.transcripts.cost import CostResult, cost_of_call
from otel_claude.transcripts.llm_calls import llm_attributes, llm_span_id, turn_trace_id
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.prices import PriceTable
from otel_claude.transcripts.slotted import pickled_by_fields

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)
_MAX_TURNS = 4096  # trace ids remembered (one per session and prompt); forgotten all at once when full
# Every key a backfill session's span attributes can hold: left out of the body, written by the exporting process.
SESSION_KEYS = frozenset(session_attributes("s", "p", "u", backfill=True).span)

Overrides = tuple[tuple[str, AttributeValue], ...]  # a call's values for session keys: {**session, **call} wins


@dataclass(frozen=True)
class SpanBodies:
    """What a reader needs to write span bodies (picklable: it travels with each file to a reader process)."""

    table: PriceTable = field(compare=False)
    price_table_version: str
    table_digest: str  # equal settings, equal digest: a reader keeps its maker (and caches) from file to file

    @classmethod
    def of(cls, table: PriceTable) -> SpanBodies:
        return cls(table, table.version, hashlib.blake2b(pickle.dumps(table), digest_size=16).hexdigest())


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class SpanBody:
    body: bytes
    overrides: Overrides  # the call's own values of session keys (the provider name), for the leading attributes

    def leading(self, session: Mapping[str, AttributeValue]) -> Mapping[str, AttributeValue]:
        """The session's attributes as the span has them: `{**session, **call}` keeps the session's order."""
        if all(session.get(key) == value for key, value in self.overrides):
            return session
        return {**session, **dict(self.overrides)}


class TurnTraceIds:
    """A turn's calls share its trace id: remembered per session and prompt, within _MAX_TURNS."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str | None], int] = {}

    def __call__(self, session_id: str, prompt_id: str | None) -> int:
        turn = (session_id, prompt_id)
        trace_id = self._ids.get(turn)
        if trace_id is None:
            if len(self._ids) >= _MAX_TURNS:
                self._ids.clear()
            trace_id = self._ids[turn] = turn_trace_id(*turn)
        return trace_id


def llm_span_parts(
    call: LlmCall, cost: CostResult, price_table_version: str, trace_id: int
) -> tuple[str, SpanContext, int, int, dict[str, AttributeValue]]:
    """An LLM call's span as backfill makes it (the live agent's, tests/cost/test_llm_span.py): name, context,
    start, end and the call's own attributes, a sequence stored as a tuple as the SDK stores one."""
    attributes = llm_attributes(call, cost, price_table_version)
    reasons = attributes.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if isinstance(reasons, list):
        attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(reasons)
    start = min(call.start_ns, call.timestamp_ns)
    context = SpanContext(trace_id, llm_span_id(call), False, _SAMPLED)
    return sc.chat_span_name(call.model), context, start, max(call.timestamp_ns, call.end_ns or 0, start), attributes


class _Span:
    """The fields of a ReadableSpan that SpanEncoder.body reads, for a span that never was one."""

    __slots__ = ("attributes", "context", "end_time", "name", "start_time")
    parent = None
    kind = SpanKind.CLIENT
    status = _UNSET
    events: tuple[Any, ...] = ()
    links: tuple[Any, ...] = ()
    dropped_attributes = dropped_events = dropped_links = 0

    def __init__(
        self, name: str, context: SpanContext, start: int, end: int, attributes: dict[str, AttributeValue]
    ) -> None:
        self.name, self.context, self.start_time, self.end_time, self.attributes = name, context, start, end, attributes


class SpanBodyMaker:
    """Writes calls' span bodies; one per reader process, its encoder's caches shared by every file it reads."""

    def __init__(self, bodies: SpanBodies) -> None:
        self._bodies = bodies
        self._encoder = SpanEncoder()
        self._trace_ids = TurnTraceIds()

    def __call__(self, call: LlmCall) -> SpanBody:
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, self._bodies.table)
        trace_id = self._trace_ids(call.session_id, call.prompt_id)
        name, context, start, end, attributes = llm_span_parts(call, cost, self._bodies.price_table_version, trace_id)
        overrides = tuple((key, attributes.pop(key)) for key in SESSION_KEYS.intersection(attributes))
        span = _Span(name, context, start, end, attributes)
        return SpanBody(self._encoder.body(span), overrides)  # type: ignore[arg-type]


_maker: list[tuple[SpanBodies, SpanBodyMaker]] = []  # this process's, kept while the settings are the same


def span_bodies(calls: list[LlmCall], bodies: SpanBodies) -> list[SpanBody | None]:
    """Each call's span body; None for a call that only betters one counted before (it gets no span)."""
    if not _maker or _maker[0][0] != bodies:  # settings arrive unpickled with each file: compared, not hashed
        _maker[:] = [(bodies, SpanBodyMaker(bodies))]
    maker = _maker[0][1]
    return [maker(call) if call.replaces is None else None for call in calls]
