"""Follows the transcripts that hook events name: LLM-call spans, token and cost metrics, Claude Code's own cost.

Reads only what is new since the last read (cursors live in the agent's snapshot), counts each API response
once, and after Stop reads again when the settle time has passed, since Claude Code writes the transcript
asynchronously. Calls nest by ids alone (the turn from the call's prompt id, the subagent from its agent id),
so a call read after its turn or session ended still lands in the right place.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from opentelemetry.metrics import Meter

from otel_claude import semconv as sc
from otel_claude.config import AgentConfig
from otel_claude.live import llm_totals, nesting, settling
from otel_claude.live.events import HookInput, SubagentStart, SubagentStop
from otel_claude.live.processor import UsageTracker
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import AgentState, HeldSpan, Session, TranscriptState
from otel_claude.transcripts.cost import CostResult, cost_of_call
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.lines import open_message
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.prices import PriceTable, load_table
from otel_claude.transcripts.reader import Cursor, read_all_new
from otel_claude.transcripts.usage_metrics import UsageMetrics

_log = logging.getLogger(__name__)
MAX_TRANSCRIPTS = 256
MAX_UNKNOWN_MODELS = 64


def subagent_transcript_path(transcript_path: str, agent_id: str) -> str:
    return os.path.join(os.path.splitext(transcript_path)[0], "subagents", f"agent-{agent_id}.jsonl")


class TranscriptUsage:
    def __init__(
        self,
        state: AgentState,
        metrics: UsageMetrics,
        prices: PriceTable,
        settle_s: float,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.prices = prices
        self.settle_ns = int(settle_s * 1e9)
        self._clock = wall_clock_ns

    # --- UsageTracker ------------------------------------------------------------------------------
    def after_event(self, ctx: SpanFactory, session: Session, event: HookInput, now_ns: int) -> None:
        if event.transcript_path:
            self._follow(event.transcript_path, session, agent_id=None, trace_id=None)
            self._read(ctx, event.transcript_path)
        agent_id = event.agent_id
        if agent_id and session.transcript_path:
            path = event.extra_fields.get("agent_transcript_path") or getattr(event, "agent_transcript_path", None)
            path = path if isinstance(path, str) else subagent_transcript_path(session.transcript_path, agent_id)
            trace_id = self._subagent_trace(session, agent_id)
            self._follow(path, session, agent_id=agent_id, trace_id=trace_id)
            if not isinstance(event, SubagentStart):
                self._read(ctx, path)
            if isinstance(event, SubagentStop):
                self._schedule(path)

    def settle(self, ctx: SpanFactory, session: Session, now_ns: int) -> None:
        if session.transcript_path:
            self._schedule(session.transcript_path)

    def hold(self, session: Session, agent_id: str | None, held: HeldSpan) -> bool:
        """The SpanFactory's holder: a turn or subagent span waits for the settle read of its transcript."""
        if not session.transcript_path:
            return False
        if agent_id:
            held.path = subagent_transcript_path(session.transcript_path, agent_id)
            for path, entry in self.state.transcripts.items():  # the path SubagentStop named, if it differs
                if entry.session_id == session.session_id and entry.agent_id == agent_id:
                    held.path = path
            held.totals_key = llm_totals.subagent_key(held.span.span_id)
        else:
            held.path = session.transcript_path
            held.totals_key = llm_totals.turn_key(held.span.trace_id)
        held.session_id = session.session_id
        settling.hold_span(self.state, held)
        self._schedule(held.path)
        return True

    # --- the agent loop calls this ------------------------------------------------------------------
    def run_due(self, ctx: SpanFactory) -> bool:
        """Re-reads the transcripts whose settle time has passed; True when that emitted anything."""
        now = self._clock()
        due = [path for when, path in self.state.settles if when <= now]
        if not due:
            return False
        self.state.settles = [(when, path) for when, path in self.state.settles if when > now]
        paths = list(dict.fromkeys(due))
        emitted = any([self._read(ctx, path) for path in paths])
        emitted = any([self._release_settled(ctx, path) for path in paths]) or emitted
        return settling.release_spans(ctx, self.state, paths) or emitted

    def _release_settled(self, ctx: SpanFactory, path: str) -> bool:
        """After a settle read, the held calls are complete, but for a response still streaming in an open turn."""
        entry = self.state.transcripts.get(path)
        if entry is None or not entry.pending:
            return False
        session = self.state.sessions.get(entry.session_id)
        streaming = open_message(entry.cursor.get("context") if isinstance(entry.cursor.get("context"), dict) else None)
        keep = streaming[0] if streaming is not None and session is not None and session.turn is not None else None
        return settling.release_calls(ctx, entry, (), self.prices, keep=keep, everything=True)

    # --- internals ---------------------------------------------------------------------------------
    def _schedule(self, path: str) -> None:
        due = self._clock() + self.settle_ns
        if all(existing != path for _, existing in self.state.settles):
            self.state.settles.append((due, path))

    @staticmethod
    def _subagent_trace(session: Session, agent_id: str) -> int | None:
        subagent = session.subagents.get(agent_id)
        if subagent is not None:
            return subagent.span.trace_id
        return None

    def _follow(self, path: str, session: Session, *, agent_id: str | None, trace_id: int | None) -> None:
        entry = self.state.transcripts.get(path)
        if entry is None:
            # Stamped before _bound: an entry still at last_used_ns=0 would be the "oldest" and evicted at once.
            entry = TranscriptState(session_id=session.session_id, agent_id=agent_id, last_used_ns=self._clock())
            self.state.transcripts[path] = entry
            self._bound()
        entry.project = session.project or entry.project
        entry.trace_id = trace_id or entry.trace_id
        entry.last_used_ns = self._clock()

    def _bound(self) -> None:
        if len(self.state.transcripts) <= MAX_TRANSCRIPTS:
            return
        oldest = sorted(self.state.transcripts.items(), key=lambda item: item[1].last_used_ns)
        for path, _ in oldest[: len(self.state.transcripts) - MAX_TRANSCRIPTS]:
            del self.state.transcripts[path]

    def _read(self, ctx: SpanFactory, path: str) -> bool:
        entry = self.state.transcripts.get(path)
        if entry is None or _unchanged(path, entry.cursor):
            return False
        cursor = Cursor.from_dict(entry.cursor) if entry.cursor else Cursor(path=path)
        dedup = Dedup.from_dict(entry.dedup)
        result = read_all_new(cursor, dedup)
        if result.error:
            _log.info("transcript %s not read: %s", path, result.error)
        entry.cursor = result.cursor.to_dict()
        entry.dedup = dedup.to_dict()
        labels = {sc.CC_PROJECT: entry.project} if entry.project else {}
        if ctx.settings.user_name:
            labels[sc.USER_NAME] = ctx.settings.user_name
        for call in result.calls:
            self._record_call(ctx, entry, call, labels)
        for cost_state in result.cost_states:
            self.metrics.record_reported(cost_state, labels)
            entry.reported_cost_usd = cost_state.total_cost_usd
            session = self.state.sessions.get(entry.session_id)
            if session is not None:
                session.reported_cost_usd = cost_state.total_cost_usd
        released = settling.release_calls(ctx, entry, result.closed_messages, self.prices)
        return released or bool(result.calls)

    def _record_call(self, ctx: SpanFactory, entry: TranscriptState, call: LlmCall, labels: dict[str, str]) -> None:
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, self.prices)
        previous: CostResult | None = None
        if call.replaces is not None:
            previous = cost_of_call(call.replaces, call.model, call.timestamp_ns, self.prices)
        self.metrics.record(call, cost, labels, previous)
        session = self.state.sessions.get(entry.session_id)
        if session is not None:
            session.cost_usd += cost.usd - (previous.usd if previous is not None else 0.0)
        if not cost.known and call.model not in self.state.unknown_models:
            self.state.unknown_models.append(call.model)
            del self.state.unknown_models[:-MAX_UNKNOWN_MODELS]
        trace_id, parent = self._parent(entry, call)
        keys = [llm_totals.turn_key(trace_id), llm_totals.session_key(entry.session_id)]
        if call.agent_id or entry.agent_id:
            keys.append(llm_totals.subagent_key(parent or 0))
        llm_totals.add(
            self.state, keys, call.usage, cost, (call.replaces, previous.usd) if call.replaces and previous else None
        )
        settling.hold_call(ctx, entry, call, trace_id, parent, self.prices)

    def _parent(self, entry: TranscriptState, call: LlmCall) -> nesting.Placement:
        return nesting.for_llm_call(
            entry.session_id,
            self.state.sessions.get(entry.session_id),
            agent_id=call.agent_id or entry.agent_id,
            agent_trace_id=entry.trace_id,
            prompt_id=call.prompt_id,
        )


def _unchanged(path: str, cursor: dict[str, object]) -> bool:
    """Nothing new since the last read (same file, read to its end): most events, and the cheapest answer."""
    if not cursor:
        return False
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False  # the reader reports what is wrong
    return (
        info.st_ino == cursor.get("ino") and info.st_dev == cursor.get("dev") and info.st_size == cursor.get("offset")
    )


UsageFactory = Callable[[Meter, AgentState], UsageTracker]


def usage_tracker_factory(config: AgentConfig) -> UsageFactory:
    prices = load_table()

    def make(meter: Meter, state: AgentState) -> UsageTracker:
        return TranscriptUsage(state, UsageMetrics(meter), prices, config.settle_ms / 1000)

    return make
