"""Follows the transcripts that hook events name: LLM-call spans, token and cost metrics, Claude Code's own cost.

Reads only what is new since the last read (cursors live in the agent's snapshot), counts each API response
once, and after Stop reads again when the settle time has passed, since Claude Code writes the transcript
asynchronously. Calls nest by ids alone (the turn from the call's prompt id, the subagent from its agent id),
so a call read after its turn or session ended still lands in the right place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from opentelemetry.metrics import Meter
from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc
from otel_claude.config import AgentConfig
from otel_claude.live import llm_totals, nesting, settling, transcript_files, transcript_notices, unseen_calls
from otel_claude.live.events import HookInput, SubagentStart, SubagentStop
from otel_claude.live.followed import FollowedTranscripts
from otel_claude.live.path_index import scheduled_paths
from otel_claude.live.processor import UsageTracker
from otel_claude.live.session_attributes import shared_session_attributes
from otel_claude.live.span_factory import SpanFactory
from otel_claude.live.state import AgentState, HeldSpan, Session, TranscriptState
from otel_claude.live.transcript_files import subagent_transcript_path
from otel_claude.transcripts.attributes import SessionAttributes
from otel_claude.transcripts.cost import CostResult, cost_of_call
from otel_claude.transcripts.dedup import Dedup
from otel_claude.transcripts.model import CostState, LlmCall
from otel_claude.transcripts.prices import PriceTable, load_table
from otel_claude.transcripts.reader import Cursor, read_all_new
from otel_claude.transcripts.usage_metrics import UsageMetrics

_log = logging.getLogger(__name__)
MAX_TRANSCRIPTS = 256
MAX_UNKNOWN_MODELS = 64


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
        # The reader's cursor and dedup of each followed transcript, kept as objects between events: rebuilding
        # them from the snapshot's dicts at every event cost more than reading the new lines. The snapshot still
        # gets their serialized form after every read that moved them.
        self._live: dict[str, tuple[Cursor, Dedup]] = {}
        self.followed = FollowedTranscripts(state.transcripts)
        self._hold_from_ns: dict[str, int] = {}  # by session, while its subagents are read at a cost-state line
        # Between begin_batch and end_batch: the transcripts read to their end since the batch began (see there).
        self._read_in_batch: set[str] | None = None

    # --- UsageTracker ------------------------------------------------------------------------------
    def after_event(self, ctx: SpanFactory, session: Session, event: HookInput, now_ns: int) -> None:
        if event.transcript_path:
            self._follow(ctx, event.transcript_path, session, agent_id=None, trace_id=None)
            if session.last_compaction is not None:  # where a call only Claude Code's cost line shows goes
                self.state.transcripts[event.transcript_path].compaction = session.last_compaction
                session.last_compaction = None
            self._read(ctx, event.transcript_path)
            # A resumed session's new run: its transcript was read before, the version learnt then.
            if not session.claude_code_version and (entry := self.followed.get(event.transcript_path)) is not None:
                session.claude_code_version = entry.claude_code_version
        agent_id = event.agent_id
        if agent_id and session.transcript_path:
            path = event.extra_fields.get("agent_transcript_path") or getattr(event, "agent_transcript_path", None)
            path = path if isinstance(path, str) else subagent_transcript_path(session.transcript_path, agent_id)
            trace_id = self._subagent_trace(session, agent_id)
            self._follow(ctx, path, session, agent_id=agent_id, trace_id=trace_id)
            if not isinstance(event, SubagentStart):
                self._read(ctx, path)
            if isinstance(event, SubagentStop):
                self._schedule(path)

    def before_event(self, ctx: SpanFactory, session: Session, event: HookInput) -> None:
        """Reads the transcript before an event that closes what is open (the next prompt, the session's end): an
        Esc fires no hook, and the transcript's line of it gives the interrupted call its real end."""
        if event.transcript_path and event.transcript_path in self.state.transcripts:
            self._read(ctx, event.transcript_path)

    def settle(self, ctx: SpanFactory, session: Session, now_ns: int) -> None:
        if session.transcript_path:
            self._schedule(session.transcript_path)

    def hold(self, session: Session, agent_id: str | None, held: HeldSpan) -> bool:
        """The SpanFactory's holder: a turn or subagent span waits for the settle read of its transcript."""
        if not session.transcript_path:
            return False
        if agent_id:
            # The path SubagentStop named, if it differs.
            held.path = self.followed.subagent_path(session.session_id, agent_id) or subagent_transcript_path(
                session.transcript_path, agent_id
            )
            held.totals_key = llm_totals.subagent_key(held.span.span_id)
        else:
            held.path = session.transcript_path
            held.totals_key = llm_totals.turn_key(held.span.trace_id)
        held.session_id = session.session_id
        settling.hold_span(self.state, held)
        self._schedule(held.path)
        return True

    # --- the agent loop calls these -----------------------------------------------------------------
    def begin_batch(self) -> None:
        """Records taken together follow: each transcript is looked at (a stat) once until end_batch, not at every
        event. Every record of the batch was spooled before it was taken, so the lines Claude Code wrote before
        those hooks fired are all there at the batch's first look; a line written later is read by the next batch
        or the settle read, as it would be had the batch been processed a moment sooner."""
        self._read_in_batch = set()

    def end_batch(self) -> None:
        self._read_in_batch = None

    def settle_all(self) -> None:
        """Makes every scheduled re-read due now (the agent is stopping: held spans leave with it)."""
        self.state.settles = [(0, path) for _, path in self.state.settles]

    def run_due(self, ctx: SpanFactory) -> bool:
        """Re-reads the transcripts whose settle time has passed; True when that emitted anything."""
        now = self._clock()
        due = [path for when, path in self.state.settles if when <= now]
        if not due:
            return False
        self.state.settles = [(when, path) for when, path in self.state.settles if when > now]
        paths = list(dict.fromkeys(due))
        emitted = any([self._read(ctx, path) for path in paths])
        emitted = any([settling.release_settled(ctx, self.state, path, self.prices) for path in paths]) or emitted
        return settling.release_spans(ctx, self.state, paths) or emitted

    # --- internals ---------------------------------------------------------------------------------
    def _schedule(self, path: str) -> None:
        due = self._clock() + self.settle_ns
        scheduled = scheduled_paths(self.state)  # a backlog schedules hundreds
        if path not in scheduled:
            self.state.settles.append((due, path))
            scheduled.add(path)

    @staticmethod
    def _subagent_trace(session: Session, agent_id: str) -> int | None:
        subagent = session.subagents.get(agent_id)
        if subagent is not None:
            return subagent.span.trace_id
        return None

    def _follow(
        self, ctx: SpanFactory, path: str, session: Session, *, agent_id: str | None, trace_id: int | None
    ) -> None:
        entry = self.state.transcripts.get(path)
        if entry is None:
            # Stamped before _bound: an entry still at last_used_ns=0 would be the "oldest" and evicted at once.
            entry = TranscriptState(session_id=session.session_id, agent_id=agent_id, last_used_ns=self._clock())
            self.followed.add(path, entry)
            self._bound(ctx)
        if session.project and entry.project != session.project:  # pydantic's setattr is not free: only changes
            entry.project = session.project
        if trace_id and entry.trace_id != trace_id:
            entry.trace_id = trace_id
        self.followed.touch(path, self._clock())

    def _bound(self, ctx: SpanFactory) -> None:
        if len(self.followed) <= MAX_TRANSCRIPTS:
            return
        for path in self.followed.oldest(len(self.followed) - MAX_TRANSCRIPTS):
            self._give_out(ctx, path)
            self.followed.remove(path)
            self._live.pop(path, None)
            if self._read_in_batch is not None:
                self._read_in_batch.discard(path)  # followed again, it starts from an empty cursor: read it
        if len(self._live) > len(self.followed):  # a reader kept for a transcript no longer followed: let it go
            for path in [p for p in self._live if p not in self.followed]:
                del self._live[path]

    def _give_out(self, ctx: SpanFactory, path: str) -> None:
        """What a transcript about to be evicted still holds: the calls waiting for their last line and the turn or
        subagent spans waiting for its settle read leave now, as that read would release them, instead of being
        lost with it. (A backlog follows more transcripts between two settle reads than the bound keeps.)"""
        entry = self.state.transcripts[path]
        if entry.pending:
            settling.release_calls(ctx, entry, (), self.prices, everything=True)
        settling.release_spans(ctx, self.state, [path])

    def _read(self, ctx: SpanFactory, path: str) -> bool:
        entry = self.state.transcripts.get(path)
        read_in_batch = self._read_in_batch
        if entry is None or (read_in_batch is not None and path in read_in_batch):
            return False
        if transcript_files.unchanged(path, entry.cursor):
            if read_in_batch is not None:
                read_in_batch.add(path)
            return False
        cursor, dedup = self._live.get(path) or (
            Cursor.from_dict(entry.cursor) if entry.cursor else Cursor(path=path),
            Dedup.from_dict(entry.dedup),
        )
        result = read_all_new(cursor, dedup)
        if result.error:
            _log.info("transcript %s not read: %s", path, result.error)
        elif read_in_batch is not None and not result.missing and not result.remaining_bytes:
            read_in_batch.add(path)  # read to its end (no partial line left to complete)
        self._live[path] = (result.cursor, dedup)
        if result.cursor != cursor or not entry.cursor:
            entry.cursor = result.cursor.to_dict()
        if result.calls or not entry.dedup:  # a read that found only repeats left the dedup's content as it was
            entry.dedup = dedup.to_dict()
        version = result.cursor.context.get("version")
        if isinstance(version, str) and not entry.agent_id:
            entry.claude_code_version = version
            if (session := self.state.sessions.get(entry.session_id)) is not None:
                session.claude_code_version = version
        attributes = shared_session_attributes(entry.session_id, entry.project, ctx.settings.user_name)
        last_ns = 0
        # In file order: a cost-state line sums the calls before it (unseen_calls.py).
        items: list[LlmCall | CostState] = sorted([*result.calls, *result.cost_states], key=lambda item: item.offset)
        next_runs = unseen_calls.next_runs(items) if result.cost_states else []
        for item in items:
            if isinstance(item, LlmCall):
                self._record_call(ctx, entry, item, attributes)
                last_ns = max(last_ns, item.end_ns or item.timestamp_ns)
            else:
                self._record_cost_state(ctx, path, entry, item, attributes, last_ns or self._clock(), next_runs.pop())
        transcript_notices.apply(ctx, entry, self.state.sessions.get(entry.session_id), result.interrupts)
        released = settling.release_calls(ctx, entry, result.closed_messages, self.prices)
        return released or bool(result.calls) or bool(result.interrupts)

    def _record_cost_state(
        self,
        ctx: SpanFactory,
        path: str,
        entry: TranscriptState,
        state: CostState,
        attributes: SessionAttributes,
        at_ns: int,
        next_run_ns: int | None,
    ) -> None:
        """`next_run_ns`: the first call after the line in the main transcript as read (None: none yet). A subagent
        call made from then on is the next run's: held for its line (unseen_calls.hold_call)."""
        if entry.agent_id:  # Claude Code's totals are the session's, written to its main transcript (as backfill reads)
            return
        self.metrics.record_reported(state, attributes.metric)
        entry.reported_cost_usd = state.total_cost_usd
        if (session := self.state.sessions.get(entry.session_id)) is not None:
            session.reported_cost_usd = state.total_cost_usd
        # The session's subagent calls are in Claude Code's totals too: read them before comparing (those no hook
        # named yet too, e.g. when a whole transcript is replayed).
        self._follow_subagent_files(ctx, path, entry)
        if next_run_ns is not None:
            self._hold_from_ns[entry.session_id] = next_run_ns
        try:
            for other_path, other in self.followed.of_session(entry.session_id):
                if other.agent_id:
                    self._read(ctx, other_path)
        finally:
            self._hold_from_ns.pop(entry.session_id, None)
        unseen_calls.count_held(entry, next_run_ns)
        compaction, entry.compaction = entry.compaction, None
        for model, usage in unseen_calls.unseen_usage(entry, state).items():
            start_ns, end_ns = (compaction[2], compaction[3]) if compaction else (at_ns, at_ns)
            call = unseen_calls.unseen_call(entry.session_id, model, usage, state, path, start_ns, end_ns, None)
            placement = (compaction[0], compaction[1]) if compaction else None
            source: dict[str, AttributeValue] = {sc.CC_LLM_SOURCE: sc.LLM_SOURCE_COST_STATE}
            self._record_call(ctx, entry, call, attributes, placement=placement, extra=source)
            settling.release_calls(ctx, entry, [(call.key, end_ns)], self.prices)

    def _record_call(
        self,
        ctx: SpanFactory,
        entry: TranscriptState,
        call: LlmCall,
        attributes: SessionAttributes,
        *,
        placement: nesting.Placement | None = None,
        extra: dict[str, AttributeValue] | None = None,
    ) -> None:
        """`extra`: span attributes of a call counted from a cost-state line (its source)."""
        if extra is None:  # a call read from a transcript, not one counted from a cost-state line
            main = self._main_entry(entry)
            hold_from = self._hold_from_ns.get(entry.session_id) if entry.agent_id else None
            if main is not None and hold_from is not None and call.timestamp_ns >= hold_from:
                unseen_calls.hold_call(main, call)
            elif main is not None:
                unseen_calls.note_call(main, call)
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, self.prices)
        previous: CostResult | None = None
        if call.replaces is not None:
            previous = cost_of_call(call.replaces, call.model, call.timestamp_ns, self.prices)
        self.metrics.record(call, cost, attributes.metric, previous)
        session = self.state.sessions.get(entry.session_id)
        if session is not None:
            session.cost_usd += cost.usd - (previous.usd if previous is not None else 0.0)
        if not cost.known and call.model not in self.state.unknown_models:
            self.state.unknown_models.append(call.model)
            del self.state.unknown_models[:-MAX_UNKNOWN_MODELS]
        trace_id, parent = placement or self._parent(entry, call)
        keys = [llm_totals.turn_key(trace_id), llm_totals.session_key(entry.session_id)]
        if call.agent_id or entry.agent_id:
            keys.append(llm_totals.subagent_key(parent or 0))
        llm_totals.add(
            self.state, keys, call.usage, cost, (call.replaces, previous.usd) if call.replaces and previous else None
        )
        settling.hold_call(ctx, entry, call, trace_id, parent, self.prices, extra, cost)

    def _follow_subagent_files(self, ctx: SpanFactory, path: str, entry: TranscriptState) -> None:
        for agent_path, agent_id in transcript_files.subagent_files(path):
            if agent_path in self.followed:
                continue
            self.followed.add(
                agent_path,
                TranscriptState(
                    session_id=entry.session_id, project=entry.project, agent_id=agent_id, last_used_ns=self._clock()
                ),
            )
            self._bound(ctx)
            # No hook named it, so no SubagentStop will schedule the read that releases its last response's span.
            self._schedule(agent_path)

    def _main_entry(self, entry: TranscriptState) -> TranscriptState | None:
        return entry if not entry.agent_id else self.followed.main_of(entry.session_id)

    def _parent(self, entry: TranscriptState, call: LlmCall) -> nesting.Placement:
        return nesting.for_llm_call(
            entry.session_id,
            self.state.sessions.get(entry.session_id),
            agent_id=call.agent_id or entry.agent_id,
            agent_trace_id=entry.trace_id,
            prompt_id=call.prompt_id,
        )


UsageFactory = Callable[[Meter, AgentState], UsageTracker]


def usage_tracker_factory(config: AgentConfig) -> UsageFactory:
    prices = load_table()

    def make(meter: Meter, state: AgentState) -> UsageTracker:
        return TranscriptUsage(state, UsageMetrics(meter), prices, config.settle_ms / 1000)

    return make
