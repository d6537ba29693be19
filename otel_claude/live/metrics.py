"""The metric instruments fed by hook events: tool calls, turns, subagents, permissions, notifications.

Label sets are bounded: tool names, outcomes, event names, error types, project and user names. Never session
ids, prompts, paths or commands: those belong on spans. Token and cost instruments live in
transcripts/usage_metrics.py; the pipeline's own health in agent/pipeline_metrics.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_claude import semconv as sc
from otel_claude.redaction.names import bound_value

Labels = Mapping[str, str]


def span_context(trace_id: int, span_id: int) -> Context:
    """A context whose current span is the (already emitted) span with these ids.

    The agent builds spans after the fact, so no span is current when a tool call's metrics are recorded.
    Recording inside this context lets the SDK's default exemplar filter (trace_based: sampled spans only) and
    reservoir attach an exemplar carrying the tool span's trace and span ids, which Prometheus (OpenMetrics)
    keeps and Grafana turns into a link to the trace.
    """
    parent = SpanContext(
        trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


MAX_LABEL_SETS = 1024  # bounded label sets remembered; forgotten all at once past it


def _bound_labels(labels: Labels) -> dict[str, str]:
    return {key: value if key == sc.USER_NAME else bound_value(key, value) for key, value in labels.items()}


_bounded_sets: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}


def _bounded(labels: Labels) -> dict[str, str]:
    """Every label value that comes from a payload in its bounded form (names.py), as on the spans. The same few
    label sets come with every event: each is bounded once (the dict handed out is never changed downstream)."""
    key = tuple(labels.items())
    bounded = _bounded_sets.get(key)
    if bounded is None:
        if len(_bounded_sets) >= MAX_LABEL_SETS:
            _bounded_sets.clear()
        bounded = _bounded_sets[key] = _bound_labels(labels)
    return bounded


def _add(counter: Counter, labels: Labels, context: Context | None = None) -> None:
    counter.add(1, _bounded(labels), context=context)


def _record(histogram: Histogram, value: float, labels: Labels, context: Context | None = None) -> None:
    histogram.record(max(value, 0.0), _bounded(labels), context=context)


class HookMetrics:
    """Counters and histograms fed by the event processor."""

    def __init__(self, meter: Meter) -> None:
        self._hook_events = meter.create_counter(sc.METRIC_HOOK_EVENTS, "{event}", "Hook events received, by event")
        self._tool_calls = meter.create_counter(sc.METRIC_TOOL_CALLS, "{call}", "Tool calls, by tool and outcome")
        self._tool_duration = meter.create_histogram(
            sc.METRIC_TOOL_DURATION,
            sc.UNIT_SECONDS,
            "Tool execution time (Claude Code's duration_ms), without hook or permission wait",
            explicit_bucket_boundaries_advisory=list(sc.TOOL_DURATION_BUCKETS_S),
        )
        self._tool_errors = meter.create_counter(sc.METRIC_TOOL_ERRORS, "{error}", "Failed tool calls, by error type")
        self._sessions = meter.create_counter(sc.METRIC_SESSIONS, "{session}", "Sessions started, by source")
        self._turns = meter.create_counter(sc.METRIC_TURNS, "{turn}", "Turns ended, by outcome")
        self._turn_duration = meter.create_histogram(
            sc.METRIC_TURN_DURATION,
            sc.UNIT_SECONDS,
            "Turn duration from the prompt to Stop",
            explicit_bucket_boundaries_advisory=list(sc.TURN_DURATION_BUCKETS_S),
        )
        self._subagents = meter.create_counter(sc.METRIC_SUBAGENTS, "{subagent}", "Subagents finished, by type")
        self._subagent_duration = meter.create_histogram(
            sc.METRIC_SUBAGENT_DURATION,
            sc.UNIT_SECONDS,
            "Subagent duration from SubagentStart to SubagentStop",
            explicit_bucket_boundaries_advisory=list(sc.TURN_DURATION_BUCKETS_S),
        )
        self._compactions = meter.create_counter(sc.METRIC_COMPACTIONS, "{compaction}", "Compactions, by trigger")
        self._permission_requests = meter.create_counter(
            sc.METRIC_PERMISSION_REQUESTS, "{request}", "Permission requests, by tool"
        )
        self._permission_wait = meter.create_histogram(
            sc.METRIC_PERMISSION_WAIT,
            sc.UNIT_SECONDS,
            "Time a tool call waited for the user's permission decision",
            explicit_bucket_boundaries_advisory=list(sc.TOOL_DURATION_BUCKETS_S),
        )
        self._notifications = meter.create_counter(sc.METRIC_NOTIFICATIONS, "{notification}", "Notifications, by type")

    def hook_event(self, event: str, labels: Labels) -> None:
        _add(self._hook_events, {**labels, sc.CC_HOOK_EVENT: event})

    def tool_call(
        self,
        tool: str,
        outcome: str,
        agent_kind: str,
        duration_s: float,
        error_type: str | None,
        labels: Labels,
        span: Context | None = None,
    ) -> None:
        """`span`: the tool call's span (see span_context()), so the measurements carry it as an exemplar."""
        attributes = {**labels, sc.GEN_AI_TOOL_NAME: tool, sc.CC_TOOL_OUTCOME: outcome, sc.CC_AGENT_KIND: agent_kind}
        _add(self._tool_calls, attributes, span)
        if outcome in sc.RAN_OUTCOMES:  # execution time: a call that never ran has none
            _record(self._tool_duration, duration_s, attributes, span)
        if error_type is not None:
            _add(self._tool_errors, {**labels, sc.GEN_AI_TOOL_NAME: tool, sc.ERROR_TYPE: error_type}, span)

    def session_started(self, source: str, labels: Labels) -> None:
        _add(self._sessions, {**labels, sc.CC_SESSION_SOURCE: source})

    def turn_ended(self, outcome: str, duration_s: float, labels: Labels) -> None:
        attributes = {**labels, sc.CC_TURN_OUTCOME: outcome}
        _add(self._turns, attributes)
        _record(self._turn_duration, duration_s, attributes)

    def subagent_ended(self, agent_type: str, duration_s: float, labels: Labels) -> None:
        attributes = {**labels, sc.GEN_AI_AGENT_NAME: agent_type}
        _add(self._subagents, attributes)
        _record(self._subagent_duration, duration_s, attributes)

    def compaction(self, trigger: str, labels: Labels) -> None:
        _add(self._compactions, {**labels, sc.CC_COMPACTION_TRIGGER: trigger})

    def permission_request(self, tool: str, labels: Labels) -> None:
        _add(self._permission_requests, {**labels, sc.GEN_AI_TOOL_NAME: tool})

    def permission_wait(self, tool: str, decision: str, wait_s: float, labels: Labels) -> None:
        attributes = {**labels, sc.GEN_AI_TOOL_NAME: tool, sc.CC_PERMISSION_DECISION: decision}
        _record(self._permission_wait, wait_s, attributes)

    def notification(self, notification_type: str, labels: Labels) -> None:
        _add(self._notifications, {**labels, sc.CC_NOTIFICATION_TYPE: notification_type})
