"""The agent: the one long-lived process per user that turns spooled records into exported telemetry.

Loop: take the oldest records, process them in order, export the spans they finished, and only when that
export succeeded save the state snapshot and delete the records. While exports fail, the same spans are
retried with backoff and no new record is taken, so the spool (bounded) is the buffer and nothing is lost.
Records that trickle in (a live session) are committed together, COMMIT_DELAY_S after the first of them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from types import FrameType

from opentelemetry.metrics import Meter

from otel_claude.agent import drops
from otel_claude.agent.pipeline_metrics import PipelineMetrics
from otel_claude.agent.records import BadRecord, decode_record, write_dead_letter, written_session_id
from otel_claude.agent.reporting import agent_status
from otel_claude.agent.shutdown import shut_down
from otel_claude.agent.spool_usage import SpoolUsage
from otel_claude.agent.status import AgentStatus, dropped_count, write_status
from otel_claude.config import AgentConfig
from otel_claude.export.constant_labels import ConstantLabelsMeter
from otel_claude.export.counter_totals import TotalsKeepingMeter
from otel_claude.export.outbox import export_spans
from otel_claude.export.providers import Providers
from otel_claude.export.summed_counters import SummingMeter
from otel_claude.handoff import spool
from otel_claude.live import state as state_store
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.processor import EventProcessor, UsageTracker
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState
from otel_claude.version import __version__

_log = logging.getLogger(__name__)
# Records per loop pass: one export (in requests of at most EXPORT_SPANS spans), one snapshot save and one release
# sweep per pass, so the snapshot's cost (serialising the whole state, fsync) is shared by this many records.
BATCH_SIZE = 2048
# Spans per export request: a record finishes at most a few spans, and the Collector's gRPC receive limit
# (collector-config.yaml) is sized for this many of the largest (tests/stack/test_collector_config.py).
EXPORT_SPANS = 2048
POLL_INTERVAL_S = 0.05
# In a live session records come one or two at a time, and a commit each (an export request, a snapshot serialised
# and fsync'd, a release sweep) cost the agent more than the records did. Processed records wait up to this long
# for the next ones before their commit; a backlog commits every pass, as before. Spans reach the Collector this
# much later at most, and a record is still released only with the snapshot that holds its effects.
COMMIT_DELAY_S = 0.5
MAX_BACKOFF_S = 30.0
HOUSEKEEPING_INTERVAL_S = 2.0
# A record hook.sh is writing longer than this was cut off: dead-letter it. (Sooner once its writer is gone.) Until
# then it holds back only the later records of its own session.
INCOMPLETE_GRACE_NS = 30 * 10**9
# Listing and sizing the spool costs time in proportion to its backlog (100k records: ~0.3 s a scan), so a big
# backlog is listed once per QUEUE_BATCHES batches, and sized at most once per SCAN_COST_FACTOR times a scan's cost
# (the cost of one that stats every record: a scan far from the bound stats only what is new, spool_usage.py).
QUEUE_BATCHES = 16
SCAN_COST_FACTOR = 20.0
# How long past the next spool scan the agent's heartbeat promises hooks that it keeps the full marker: longer than
# the longest export backoff (housekeeping runs between retries), short enough that a hung agent is found out soon.
HEARTBEAT_S = MAX_BACKOFF_S + 10.0


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        providers: Providers,
        usage_factory: Callable[[Meter, AgentState], UsageTracker] | None = None,
    ) -> None:
        self.config = config
        self.providers = providers
        self.paths = spool.SpoolPaths(config.state_dir)
        self.state = state_store.load(config.state_dir)
        # Identity labels go inside the totals: saved totals stay keyed as before, and restore under today's identity.
        sdk_meter = ConstantLabelsMeter(
            providers.meter_provider.get_meter("otel_claude", __version__), providers.identity
        )
        # Counter increments reach the SDK summed, once per loop pass (and before each export); the totals kept for a
        # restart are updated at each increment, in front of the sums.
        self._summing = SummingMeter(sdk_meter)
        meter = TotalsKeepingMeter(self._summing, self.state.counters, config.metric_cardinality_limit)
        settings = ProcessorSettings(
            capture_content=config.capture_content,
            project_label=config.project_label,
            user_name=config.user_name,
            settle_s=config.settle_ms / 1000,
        )
        spans = providers.spans or providers.tracer_provider.get_tracer("otel_claude", __version__)
        self.ctx = SpanFactory(spans, HookMetrics(meter), settings)
        usage = usage_factory(meter, self.state) if usage_factory else None
        self.processor = EventProcessor(self.ctx, self.state, usage)
        self._spool_usage = SpoolUsage(self.paths, config.spool_max_bytes)
        self._backlog = (0, 0)
        self._dropped = 0
        self.pipeline = PipelineMetrics(meter, lambda: self._backlog, lambda: self._dropped)
        self._started_at = time.time()
        self._stop = threading.Event()
        self._last_event_at = time.monotonic()
        self._last_housekeeping = 0.0
        self._next_scan_at = 0.0
        self._queue: deque[str] = deque()  # listed, not yet taken, oldest first
        self._unreleased: list[str] = []  # processed, not yet released with a saved snapshot (see _commit)
        self._commit_due: float | None = None  # when the processed records' commit is due; None: nothing to commit
        self._held = 0  # records the last batch held back (at the queue's head)
        self.processed_total = 0
        self.dead_letters_total = 0

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, *, exit_when_idle: bool) -> None:
        spool.ensure_layout(self.paths)
        spool.sweep_tmp(self.paths)
        self._housekeeping(force=True)
        while not self._stop.is_set():
            batch = self._next_batch()
            consumed = self._process(batch) if batch else []
            if len(consumed) < len(batch):  # held records (a session's record still being written) go first next time
                taken = set(consumed)
                self._queue.extendleft(reversed([name for name in batch if name not in taken]))
            # Settle re-reads run under a backlog too (they must not pile up until the spool is empty); what they
            # emit and the cursors they move leave with the batch's: one export and one snapshot save per pass.
            emitted, moved = self._due_reads()
            self._unreleased.extend(consumed)
            if (consumed or moved) and self._commit_due is None:
                self._commit_due = time.monotonic() + COMMIT_DELAY_S
            backlog = len(batch) >= BATCH_SIZE or len(self._queue) > self._held
            if self._commit_due is not None and (backlog or time.monotonic() >= self._commit_due):
                self._commit([])
            if consumed or emitted:
                self._last_event_at = time.monotonic()
            else:
                if exit_when_idle and self._commit_due is None and self._idle_long_enough():
                    _log.info("no event for %.0f s and no open session: exiting", self.config.idle_exit_s)
                    break
                self._stop.wait(POLL_INTERVAL_S)
            self._housekeeping()
            self._summing.flush()
        if self.processor.usage is not None:  # the settle re-reads run now: held turn spans leave with this agent
            self.processor.usage.settle_all()
            if self._due_reads()[1]:
                self._commit_due = time.monotonic()
        if self._commit_due is not None:
            self._commit([])
        self._summing.flush()
        self.shutdown()

    def _due_reads(self) -> tuple[bool, bool]:
        """Runs the transcript re-reads whose settle time has come: (whether they emitted anything, whether the
        state changed, so a snapshot must be saved once their spans are exported)."""
        usage = self.processor.usage
        if usage is None:
            return False, False
        pending = len(self.state.settles)
        try:
            emitted = usage.run_due(self.ctx)
        except Exception:  # a bad path in the snapshot must not kill every agent that loads it
            if self.config.debug:
                raise
            _log.exception("re-reading transcripts failed; those reads are dropped")
            emitted = False
        return emitted, emitted or len(self.state.settles) != pending

    def _idle_long_enough(self) -> bool:
        if self.config.idle_exit_s <= 0 or self.state.sessions or self.state.settles:
            return False
        return time.monotonic() - self._last_event_at > self.config.idle_exit_s

    def _next_batch(self) -> list[str]:
        """The oldest pending records. Names sort by spooling time, so records spooled after a listing sort after
        the names it queued: taking from the queue before listing again keeps the order."""
        if len(self._queue) <= self._held:  # nothing queued but records held back: see what has come since
            names = spool.pending_names(self.paths)
            if self.state.committed_names:
                done = set(self.state.committed_names)
                for name in names:
                    if name in done:
                        spool.release(self.paths, name)  # processed before a crash, not yet deleted
                names = [name for name in names if name not in done]
            if self._unreleased:  # processed, waiting for their commit: still in the spool, not to be taken again
                waiting = set(self._unreleased)
                names = [name for name in names if name not in waiting]
            self._queue.clear()  # the held names are listed again, in their place
            self._queue.extend(names[: BATCH_SIZE * QUEUE_BATCHES])
        return [self._queue.popleft() for _ in range(min(BATCH_SIZE, len(self._queue)))]

    def _process(self, batch: list[str]) -> list[str]:
        """Processes records in order; returns the names consumed. A record still being written holds back the
        records of its session behind it (a session's events keep their order), not those of other sessions."""
        consumed: list[str] = []
        held_sessions: set[str] = set()
        directory = spool.open_new_dir(self.paths)  # records are opened relative to it: no path walk each
        try:
            with self.processor.batch():  # each transcript is looked at once per batch (live/usage.py)
                for name in batch:
                    try:
                        blob = spool.read_record(self.paths, name, directory)
                    except OSError as exc:
                        self._dead_letter(name, b"", BadRecord("unreadable", repr(exc)))
                        consumed.append(name)
                        continue
                    try:
                        received_ns, event = decode_record(blob)
                    except spool.IncompleteRecord as exc:
                        young = time.time_ns() - spool.spooled_ns(name) < INCOMPLETE_GRACE_NS
                        if young and spool.writer_alive(name):
                            session = written_session_id(blob)
                            if session is None:
                                break  # too little written to know its session: hold everything behind it
                            held_sessions.add(session)  # its hook is still writing: take it, and its session, next time
                            continue
                        self._dead_letter(name, blob, BadRecord("incomplete", str(exc)))
                        consumed.append(name)
                        continue
                    except BadRecord as exc:
                        self._dead_letter(name, blob, exc)
                        consumed.append(name)
                        continue
                    if event.session_id in held_sessions:
                        continue
                    consumed.append(name)
                    try:
                        self.processor.handle(event, received_ns)
                    except Exception as exc:  # a bug on one record must not stop the records behind it
                        if self.config.debug:
                            raise
                        _log.exception("processing %s failed", name)
                        self._dead_letter(name, blob, BadRecord("processing_error", repr(exc)))
        finally:
            if directory is not None:
                os.close(directory)
        self._held = len(batch) - len(consumed)
        self.processed_total += len(consumed)
        self.pipeline.processed(len(consumed))
        return consumed

    def _dead_letter(self, name: str, blob: bytes, error: BadRecord) -> None:
        _log.warning("dead-lettering %s: %s", name, error)
        self.dead_letters_total += 1
        self.pipeline.dead_letter(error.reason)
        try:
            write_dead_letter(self.paths.dead_letters, name, blob, error)
        except OSError as exc:
            _log.error("cannot write the dead-letter file: %s", exc)

    def _commit(self, batch: list[str]) -> None:
        """Exports what the batch finished, retrying until it succeeds, then saves state and frees the records.

        Records whose export did not succeed (the agent is stopping) stay owed: their effects are in the state in
        memory, so any later save (the stop's last settle reads, an idle session closed during the outage) must
        release them with it, or a restarted agent would process them a second time."""
        self._unreleased.extend(batch)  # bounded: no record is taken while an export fails
        if not self._export_until_done():
            return
        self._commit_due = None
        names, self._unreleased = self._unreleased, []
        if names:  # else the last batch's names stay: harmless, its records are gone
            self.state.committed_names = names
        state_store.save(self.config.state_dir, self.state)
        spool.release_all(self.paths, names)

    def _export_until_done(self) -> bool:
        self._summing.flush()  # metrics go on while spans wait for their Collector
        backoff = 0.5
        outbox = self.providers.outbox
        while len(outbox):
            spans = outbox.peek(EXPORT_SPANS)
            if export_spans(self.providers.span_exporter, spans, self.providers.span_result):
                outbox.discard(len(spans))
                continue
            self.pipeline.export_failed("traces")
            _log.warning("span export failed (%s); retrying in %.1f s", self.providers.span_result.error, backoff)
            self._housekeeping(force=True)
            if self._stop.wait(backoff):
                return False  # stopping: the records stay in the spool for the next agent
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        return True

    def _housekeeping(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_housekeeping < HOUSEKEEPING_INTERVAL_S:
            return
        self._last_housekeeping = now
        if now >= self._next_scan_at:
            self._backlog = self._spool_usage.measure()
            self._next_scan_at = now + SCAN_COST_FACTOR * max(time.monotonic() - now, self._spool_usage.full_cost_s)
            try:
                spool.set_full(self.paths, self._backlog[1] > self.config.spool_max_bytes or self._disk_low())
            except OSError as exc:
                _log.error("cannot update the spool's full marker: %s", exc)
        try:
            until = time.time() + HEARTBEAT_S + max(0.0, self._next_scan_at - now)
            spool.write_heartbeat(self.paths, until, self.config.spool_max_bytes)
        except OSError as exc:
            _log.error("cannot write the spool's heartbeat: %s", exc)
        drops.fold(self.config.state_dir)
        self._dropped = dropped_count(self.config.state_dir)
        if self.providers.prometheus is not None:
            self.providers.prometheus.retry_if_due()
        if self.processor.close_idle(self.config.session_idle_s):
            self._commit([])
        write_status(self.config.state_dir, self.status(running=True))

    def status(self, *, running: bool) -> AgentStatus:
        """What `otel-claude status` shows of this agent."""
        return agent_status(
            self.config, self.providers, self.state, running=running, started_at=self._started_at,
            processed=self.processed_total, dead_letters=self.dead_letters_total, backlog=self._backlog,
            dropped=self._dropped,
        )  # fmt: skip

    def _disk_low(self) -> bool:
        """Under MIN_FREE_BYTES free: hook.sh checks only the full marker, so the marker also stands for this."""
        try:
            fs = os.statvfs(self.paths.new_dir)
        except OSError:
            return False
        return fs.f_bavail * fs.f_frsize < spool.MIN_FREE_BYTES

    def shutdown(self) -> None:
        """Flushes metrics and writes the last status; spans not exported stay as records in the spool."""
        shut_down(self.paths, self.providers, lambda: write_status(self.config.state_dir, self.status(running=False)))
