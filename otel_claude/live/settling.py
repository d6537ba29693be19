"""Spans that wait for their transcript: an LLM call until its response's last line, a turn or subagent until the
settle read after its end, so each span is exported once, whole.

Claude Code writes one transcript line per content block of a response, as the blocks stream, so a response's
span ends at its last line, which the reader knows only when a closing line follows (lines.py). Claude Code also
writes the transcript after the hooks fired (the last calls of a turn, its cost-state line after the Stop hooks),
so a turn or subagent span ended by its hook is held until the settle read has seen the calls inside it.
Everything held is plain data in the agent's snapshot and bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.live import api_errors, llm_totals
from otel_claude.live.path_index import held_paths
from otel_claude.live.session_attributes import shared_session_attributes
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import AgentState, HeldSpan, PendingLlmCall, TranscriptState
from otel_claude.transcripts.cost import CostResult, cost_of_call
from otel_claude.transcripts.lines import open_message
from otel_claude.transcripts.llm_calls import build_llm_span
from otel_claude.transcripts.model import ApiError, LlmCall, call_from_dict, call_to_dict
from otel_claude.transcripts.prices import PriceTable

_log = logging.getLogger(__name__)
MAX_PENDING_CALLS = 64  # per transcript: responses are closed by the next line, so a few at a time
MAX_HELD_SPANS = 1024
# Released spans past this many are split out by a copy of the held list rather than deleted one by one.
_CUT_IN_PLACE = 16


def hold_call(
    ctx: SpanFactory,
    entry: TranscriptState,
    call: LlmCall,
    trace_id: int,
    parent: int | None,
    prices: PriceTable,
    attributes: dict[str, AttributeValue] | None = None,
    cost: CostResult | None = None,
) -> None:
    """Keeps `call` until its last line is known; a better line for a held response replaces the held one.
    `cost`: the call's, from `prices`, if the caller has it."""
    pending = _pending(call, trace_id, parent)
    pending.attributes = dict(attributes or {})
    pending._made = (
        call,
        cost if cost is not None else cost_of_call(call.usage, call.model, call.timestamp_ns, prices),
        prices,
    )
    for index, held in enumerate(entry.pending):
        if tuple(held.call.get("key_parts") or ()) == call.key:
            entry.pending[index] = pending
            return
    entry.pending.append(pending)
    while len(entry.pending) > MAX_PENDING_CALLS:
        _emit_call(ctx, entry, entry.pending.pop(0), None, prices)


def _pending(call: LlmCall, trace_id: int, parent: int | None) -> PendingLlmCall:
    data = call_to_dict(call)
    data["key_parts"] = list(call.key)
    return PendingLlmCall(call=data, trace_id=trace_id, parent_span_id=parent)


def release_calls(
    ctx: SpanFactory,
    entry: TranscriptState,
    ends: Iterable[tuple[tuple[str, ...], int]],
    prices: PriceTable,
    *,
    keep: tuple[str, ...] | None = None,
    everything: bool = False,
) -> bool:
    """Emits the held calls whose last line is now known (`ends`), or all of them but `keep` with `everything`."""
    last = dict(ends)
    emitted = False
    kept: list[PendingLlmCall] = []
    for pending in entry.pending:
        key = tuple(pending.call.get("key_parts") or ())
        if key in last or (everything and key != keep):
            _emit_call(ctx, entry, pending, last.get(key), prices)
            emitted = True
        else:
            kept.append(pending)
    entry.pending = kept
    return emitted


def release_settled(ctx: SpanFactory, state: AgentState, path: str, prices: PriceTable) -> bool:
    """After a settle read, the held calls are complete, but for a response still streaming in an open turn."""
    entry = state.transcripts.get(path)
    if entry is None or not entry.pending:
        return False
    session = state.sessions.get(entry.session_id)
    streaming = open_message(entry.cursor.get("context") if isinstance(entry.cursor.get("context"), dict) else None)
    # Its (sub)agent still runs: the response being written may get more lines.
    running = session is not None and (
        entry.agent_id in session.subagents if entry.agent_id else session.turn is not None
    )
    keep = streaming[0] if streaming is not None and running else None
    return release_calls(ctx, entry, (), prices, keep=keep, everything=True)


def _emit_call(
    ctx: SpanFactory, entry: TranscriptState, pending: PendingLlmCall, end_ns: int | None, prices: PriceTable
) -> None:
    made = pending._made
    if made is not None and made[2] is prices:  # held by this agent: the call and cost it was made from
        call, cost = made[0], made[1]
    else:  # loaded from a snapshot
        try:
            call = call_from_dict({k: v for k, v in pending.call.items() if k != "key_parts"})
        except (KeyError, TypeError, ValueError) as exc:
            _log.warning("a held LLM call in the snapshot is unreadable (%s); its span is dropped", exc)
            return
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, prices)
    if end_ns is not None:
        call = _with_end(call, end_ns)  # the end alone changes: the cost is the same
    # The session's span attributes from the builder backfill uses too, then the call's own (its source).
    session = shared_session_attributes(entry.session_id, entry.project, ctx.settings.user_name)
    common: dict[str, AttributeValue] = {**session.span, **pending.attributes}
    ctx.emit(build_llm_span(call, cost, pending.trace_id, pending.parent_span_id, common, prices.version))


def _with_end(call: LlmCall, end_ns: int) -> LlmCall:
    return replace(call, end_ns=max(end_ns, call.end_ns or 0))


def hold_span(state: AgentState, held: HeldSpan) -> None:
    counts, paths = held_paths(state)
    state.held.append(held)
    counts[held.path] += 1
    paths.append(held.path)
    while len(state.held) > MAX_HELD_SPANS:
        state.held.pop(0)  # the oldest is dropped rather than let the snapshot grow: it has waited for long
        path = paths.pop(0)
        counts[path] -= 1
        if counts[path] <= 0:
            del counts[path]


def release_spans(ctx: SpanFactory, state: AgentState, paths: Iterable[str]) -> bool:
    """Emits the held turn and subagent spans whose transcript was just re-read, with their LLM totals."""
    # Up to MAX_HELD_SPANS are held, and each settle read and eviction asks: the index answers most of them (none
    # held for these paths). An eviction releases a span or two of one path: list.index finds them (a C scan of
    # string compares) and they are cut out in place, instead of testing and copying every held span.
    counts, held_at = held_paths(state)
    found = [path for path in dict.fromkeys(paths) if counts.get(path)]
    if not found:
        return False
    waiting = state.held
    positions: list[int] = []
    for path in found:
        start = 0
        for _ in range(counts.pop(path)):
            start = held_at.index(path, start)  # the index counts every held span of the path: it is there
            positions.append(start)
            start += 1
    positions.sort()  # released in the held list's order, as before
    ready = [waiting[i] for i in positions]
    if len(positions) <= _CUT_IN_PLACE:
        for i in reversed(positions):
            del waiting[i], held_at[i]  # the same lists: the index stays the one of state.held
    else:
        settled = set(positions)
        state.held = [held for i, held in enumerate(waiting) if i not in settled]
        state._held_index = (state.held, counts, [path for i, path in enumerate(held_at) if i not in settled])
    for held in ready:
        attributes = {**held.attributes, **llm_totals.span_attributes(state, held.totals_key)}
        if held.span.attributes.get(sc.CC_SPAN_TYPE) == sc.SPAN_TYPE_TURN:
            attributes[sc.CC_SESSION_COST_USD] = llm_totals.session_cost(state, held.session_id)
            entry = state.transcripts.get(held.path)
            if entry is not None and entry.reported_cost_usd is not None:
                attributes[sc.CC_REPORTED_COST_USD] = entry.reported_cost_usd
            if entry is not None and entry.claude_code_version:
                attributes.setdefault(sc.CC_VERSION, entry.claude_code_version)
        ctx.finish(held.span, held.end_ns, attributes, held.error)
    return True


def emit_api_error(
    ctx: SpanFactory, entry: TranscriptState, error: ApiError, trace_id: int, parent: int | None, model: str | None
) -> None:
    """A `chat` span for a request that failed (no response, no tokens), with the API's error as `error.type`."""
    session = shared_session_attributes(entry.session_id, entry.project, ctx.settings.user_name, model)
    ctx.emit(api_errors.api_error_span(entry.session_id, error, session.span, trace_id, parent, model))
