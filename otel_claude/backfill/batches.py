"""One backfill run's export: each call's span and metrics into a batch, and the batch into the ledger once every
receiver acknowledged it (a failed export stops the run; what was acknowledged is kept, the rest left for the next).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from otel_claude import semconv as sc
from otel_claude.backfill.delivery import METER_NAME, SPANS_PER_EXPORT, Delivery
from otel_claude.backfill.ledger import ExportedCallsLedger, key_hash
from otel_claude.backfill.openmetrics import DailyTotals
from otel_claude.backfill.summary import BackfillSummary
from otel_claude.backfill.unseen import SessionCostStates, session_id_of
from otel_claude.live.unseen_calls import SOURCE
from otel_claude.transcripts.attributes import SessionAttributes, model_labels, project_label, session_attributes
from otel_claude.transcripts.cost import cost_of_call, day_of
from otel_claude.transcripts.model import ApiError, LlmCall
from otel_claude.transcripts.prices import PriceTable
from otel_claude.transcripts.reader import Cursor
from otel_claude.version import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.util.types import AttributeValue

    from otel_claude.backfill.span_bodies import SpanBody
    from otel_claude.backfill.spans import LlmSpans
    from otel_claude.export.otlp_spans import EncodedSpan
    from otel_claude.export.summed_counters import SummingMeter
    from otel_claude.transcripts.usage_metrics import UsageMetrics

_MAX_SESSIONS = 65_536  # sessions whose attributes are remembered (least recently used forgotten)


@dataclass
class _Batch:
    spans: list[ReadableSpan | EncodedSpan] = field(default_factory=list)
    span_hashes: list[int] = field(default_factory=list)  # span_hashes[i] is the call of spans[i]
    sent: int = 0  # spans[:sent] were acknowledged already (sent while the readers had nothing ready)
    metric_hashes: list[int] = field(default_factory=list)  # calls whose metrics alone go out (span sent before)
    cursors: dict[str, Cursor] = field(default_factory=dict)  # files whose every call is in this batch or earlier
    metrics_only_changes: bool = False  # a better line for a response sent before changed the metrics
    api_errors: int = 0  # of the hashes, failed requests (spans without metrics), counted apart from calls

    def __len__(self) -> int:
        return len(self.span_hashes) + len(self.metric_hashes)


class CallExport:
    def __init__(
        self,
        delivery: Delivery,
        ledger: ExportedCallsLedger,
        summary: BackfillSummary,
        table: PriceTable,
        window: tuple[datetime | None, datetime | None],
        project_mode: str,
        user_name: str,
        daily: DailyTotals | None,
    ) -> None:
        self.delivery, self.ledger, self.summary, self.table = delivery, ledger, summary, table
        since, until = window
        self._since_ns = int(since.timestamp() * 1e9) if since is not None else None
        self._until_ns = int(until.timestamp() * 1e9) if until is not None else None
        self.project_mode, self.user_name, self.daily = project_mode, user_name, daily
        meter_provider = delivery.meter_provider if delivery.flush_metrics is not None else None
        # Tens of thousands of calls between two metric exports: counter increments are summed per label set until
        # the batch's metrics go out (the same totals, for a fraction of the SDK's work per measurement).
        self._summing: SummingMeter | None = None
        self.metrics: UsageMetrics | None = None
        if meter_provider is not None:
            # Imported here, once the readers have started: they need neither (nor the redaction rules behind them).
            from otel_claude.export.summed_counters import SummingMeter
            from otel_claude.transcripts.usage_metrics import UsageMetrics

            meter = meter_provider.get_meter(METER_NAME, __version__)
            self._summing = SummingMeter(delivery.histograms.meter(meter) if delivery.histograms else meter)
            self.metrics = UsageMetrics(self._summing)
        self.to_span = _span_builder(delivery, table.version)
        # Spans whose bodies the readers wrote go out only through an exporter that takes them (export/otlp_spans.py)
        self.encoded_spans = self.to_span is not None and getattr(delivery.span_exporter, "accepts_encoded", False)
        self.batch = _Batch()
        self.seen: set[int] = set()  # hashes handled in this run: a response repeated in a later file is skipped
        self.sessions: OrderedDict[str, SessionAttributes] = OrderedDict()
        self.stopped = False  # an export failed for good: from here on, only count what remains

    def _outside(self, stamp: int) -> bool:
        return (self._since_ns is not None and stamp < self._since_ns) or (
            self._until_ns is not None and stamp >= self._until_ns
        )

    def handle(
        self, call: LlmCall, source: Mapping[str, AttributeValue] | None = None, body: SpanBody | None = None
    ) -> None:
        """`source`: the span attributes of a call counted from a cost-state line (backfill/unseen.py); `body`: its
        span as a reader process wrote it (backfill/span_bodies.py), used when this run's exporter takes it."""
        stamp = call.timestamp_ns
        if self._outside(stamp):
            self.summary.calls_outside_window += 1
            return
        cost = cost_of_call(call.usage, call.model, stamp, self.table)
        if call.replaces is not None:
            # A better line for a response already sent from an earlier read: add only the difference.
            if self.metrics is not None and not self.stopped:
                previous = cost_of_call(call.replaces, call.model, stamp, self.table)
                self.metrics.record(call, cost, self._attributes(call).metric, previous)
                self.batch.metrics_only_changes = True
            return
        hashed = key_hash(call.key)
        if hashed in self.ledger.exported or hashed in self.seen:
            self.summary.calls_already_exported += 1
            return
        self.seen.add(hashed)
        self.summary.count(call.model, call.usage, cost.usd, cost.known, from_cost_state=source is not None)
        if self.stopped:
            self.summary.calls_remaining += 1
            return
        attributes = self._attributes(call)
        if self.daily is not None:
            kinds = {
                sc.TOKEN_KIND_INPUT: call.usage.input_tokens,
                sc.TOKEN_KIND_OUTPUT: call.usage.output_tokens,
                sc.TOKEN_KIND_CACHE_READ: call.usage.cache_read_tokens,
                sc.TOKEN_KIND_CACHE_CREATION: call.usage.cache_creation_tokens,
            }
            self.daily.add(day_of(stamp), model_labels(attributes.metric, call.model, cost.known), kinds, cost.usd)
        if not self.delivery.exports:
            return
        if hashed in self.ledger.spans_only:
            self.batch.metric_hashes.append(hashed)  # its span got through in an earlier run, its metrics did not
        else:
            if self.to_span is not None:
                if body is not None and source is None and self.encoded_spans:
                    self.batch.spans.append(self.to_span.encoded(body, attributes.span))
                else:
                    span_attributes = attributes.span if source is None else {**attributes.span, **source}
                    self.batch.spans.append(self.to_span(call, cost, span_attributes))
            self.batch.span_hashes.append(hashed)
        if self.metrics is not None:
            self.metrics.record(call, cost, attributes.metric)

    def handle_api_error(self, error: ApiError, session_id: str) -> None:
        """A failed request: a span, as the live agent makes it, once (no tokens, no metrics)."""
        if self._outside(error.timestamp_ns):
            return
        hashed = key_hash(("api-error", session_id, error.key(session_id)))
        if hashed in self.ledger.exported or hashed in self.seen:
            return
        self.seen.add(hashed)
        self.summary.api_errors_new += 1
        if self.stopped:
            self.summary.api_errors_remaining += 1
            return
        if not self.delivery.exports:
            return
        self.batch.api_errors += 1
        if hashed in self.ledger.spans_only:
            self.batch.metric_hashes.append(hashed)  # its span got through in an earlier run: only to be recorded
            return
        if self.to_span is not None:
            session = self._session(session_id, error.cwd)
            self.batch.spans.append(self.to_span.api_error(session_id, error, session.span))
        self.batch.span_hashes.append(hashed)

    def _attributes(self, call: LlmCall) -> SessionAttributes:
        return self._session(call.session_id, call.cwd)

    def _session(self, session_id: str, cwd: str | None) -> SessionAttributes:
        # The project of the session's first call, as the agent takes it from the session's first event: a call
        # made after `cd sub` stays in the session's project, so live and backfilled series agree.
        attributes = self.sessions.get(session_id)
        if attributes is None:
            project = project_label(cwd, self.project_mode)
            attributes = session_attributes(session_id, project, self.user_name, backfill=True)
            self.sessions[session_id] = attributes
            if len(self.sessions) > _MAX_SESSIONS:
                self.sessions.popitem(last=False)
        else:
            self.sessions.move_to_end(session_id)
        return attributes

    def commit(self) -> bool:
        """Sends the batch; records in the ledger what every receiver acknowledged. False: the run must stop."""
        batch, self.batch = self.batch, _Batch()
        if self.stopped:
            return False
        if not self.delivery.exports:
            return True
        if not len(batch) and not batch.metrics_only_changes:
            # Nothing to send (files unchanged, or all of it exported before): no endpoint is needed to say so.
            self.ledger.record((), (), batch.cursors)
            self.ledger.save()
            return True
        if batch.spans:
            acked = batch.sent + self.delivery.export_spans(batch.spans[batch.sent :])
        else:
            acked = len(batch.span_hashes)
        if acked < len(batch.span_hashes):
            self._stop(batch, spans_acked=batch.span_hashes[:acked])
            return False
        if self._summing is not None:
            self._summing.flush()
        if not self.delivery.export_metrics():
            self._stop(batch, spans_acked=batch.span_hashes)
            return False
        self.ledger.record([*batch.span_hashes, *batch.metric_hashes], (), batch.cursors)
        self.ledger.save()
        self.summary.calls_exported += len(batch) - batch.api_errors
        self.summary.api_errors_exported += batch.api_errors
        return True

    def send_spans_while_waiting(self) -> None:
        """Exports the batch's whole requests of spans not sent yet: called while the readers have nothing ready, so
        this process sends what it would otherwise send at the batch's commit, and the run's last commit, which
        nothing overlaps, has less to send. They enter the ledger with their batch, once its metrics went out too."""
        batch = self.batch
        whole = (len(batch.spans) - batch.sent) // SPANS_PER_EXPORT * SPANS_PER_EXPORT
        if self.stopped or not whole:
            return
        acked = self.delivery.export_spans(batch.spans[batch.sent : batch.sent + whole])
        batch.sent += acked
        if acked < whole:
            self.batch = _Batch()
            self._stop(batch, spans_acked=batch.span_hashes[: batch.sent])

    def finish_session(self, session: SessionCostStates, windowed: bool) -> None:
        """The calls only the session's cost-state lines show, then its main transcript's cursor: recorded together,
        so a run stopped before they were acknowledged leaves the file to be read again, and they are found again."""
        for call in session.unseen_calls():
            self.handle(call, SOURCE)
        if windowed:  # no cursor recorded: a later run reads the lines again, so they are not counted here
            return
        self.summary.reported_cost_usd += sum(sum(s.delta_usd_by_model.values()) for s in session.new_states)
        if not self.stopped:
            self.batch.cursors[session.path] = session.cursor
            # Claude Code's own cost, as the agent records it: once per line, recorded with this batch's cursor.
            if self.metrics is not None and session.new_states:
                labels = self._session(session_id_of(session.path), session.cwd).metric
                for state in session.new_states:
                    self.metrics.record_reported(state, labels)
                self.batch.metrics_only_changes = True

    def _stop(self, batch: _Batch, spans_acked: Sequence[int]) -> None:
        self.stopped = True
        self.summary.failure = self.delivery.failure or "the receiver did not acknowledge the export"
        self.summary.calls_remaining += len(batch) - batch.api_errors
        self.summary.api_errors_remaining += batch.api_errors
        self.ledger.record((), spans_acked, {})
        self.ledger.save()


def _span_builder(delivery: Delivery, price_table_version: str) -> LlmSpans | None:
    """Call -> ReadableSpan for the delivery's exporter; None when spans go nowhere (no SDK import)."""
    if delivery.span_exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from otel_claude.backfill.spans import LlmSpans

    resource = delivery.resource or Resource.create({})
    return LlmSpans(resource, InstrumentationScope("otel_claude", __version__), price_table_version)
