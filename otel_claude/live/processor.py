"""The event processor: each HookInput, in order, updates session state and emits the spans that ended.

Pure logic over injected parts (a tracer, metric instruments, settings, an optional usage tracker), so unit
tests drive it with an InMemorySpanExporter and an InMemoryMetricReader.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from otel_claude import semconv as sc
from otel_claude.live import lifecycle, nesting, subagents, tool_calls
from otel_claude.live.events import (
    HookInput,
    Notification,
    PermissionDenied,
    PermissionRequest,
    PostCompact,
    PostToolBatch,
    PostToolUse,
    PostToolUseFailure,
    PreCompact,
    PreToolUse,
    SessionEnd,
    SessionStart,
    Stop,
    StopFailure,
    SubagentStart,
    SubagentStop,
    UserPromptSubmit,
)
from otel_claude.live.span_factory import SpanFactory, project_label
from otel_claude.live.state import AgentState, HeldSpan, Session

_log = logging.getLogger(__name__)


# Events that are work of a turn: seen with no open turn for their prompt, they open one. Others (a model
# switch, /add-dir) are annotations and go on whatever span is open.
_TURN_WORK = (
    PreToolUse, PostToolUse, PostToolUseFailure, PermissionDenied, PermissionRequest, PostToolBatch,
    SubagentStart, SubagentStop, Stop, StopFailure, PreCompact, PostCompact,
)  # fmt: skip


class UsageTracker(Protocol):
    """Reads the transcripts an event names and emits LLM-call spans and token/cost metrics."""

    def after_event(self, ctx: SpanFactory, session: Session, event: HookInput, now_ns: int) -> None: ...

    def before_event(self, ctx: SpanFactory, session: Session, event: HookInput) -> None: ...

    def settle(self, ctx: SpanFactory, session: Session, now_ns: int) -> None: ...

    def run_due(self, ctx: SpanFactory) -> bool: ...

    def settle_all(self) -> None: ...

    def hold(self, session: Session, agent_id: str | None, held: HeldSpan) -> bool: ...

    def begin_batch(self) -> None: ...

    def end_batch(self) -> None: ...


class EventProcessor:
    def __init__(
        self,
        ctx: SpanFactory,
        state: AgentState,
        usage: UsageTracker | None = None,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.ctx = ctx
        self.state = state
        self.usage = usage
        if usage is not None:
            ctx.holder = usage.hold  # turn and subagent spans wait for their transcript's settle read
        self._wall_clock_ns = wall_clock_ns

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Records handled together, taken from the spool at once: the usage tracker looks at each transcript once."""
        if self.usage is None:
            yield
            return
        self.usage.begin_batch()
        try:
            yield
        finally:
            self.usage.end_batch()

    def handle(self, event: HookInput, received_ns: int) -> None:
        ctx = self.ctx
        session = self._session(event, received_ns)
        ctx.metrics.hook_event(event.hook_event_name, ctx.labels(session))
        if self.usage is not None and isinstance(event, UserPromptSubmit | SessionEnd):
            self.usage.before_event(ctx, session, event)  # what happened since (an Esc) before it is closed
        if isinstance(event, _TURN_WORK):
            lifecycle.ensure_turn(ctx, session, event, received_ns)
        self._dispatch(session, event, received_ns)
        if self.usage is not None:
            self.usage.after_event(ctx, session, event, received_ns)
        if isinstance(event, SessionEnd):
            self.state.sessions.pop(session.session_id, None)  # ended sessions hold no memory

    def _session(self, event: HookInput, received_ns: int) -> Session:
        session = self.state.sessions.get(event.session_id)
        if session is None:
            session = Session(session_id=event.session_id)
            self.state.sessions[event.session_id] = session
        if event.cwd and session.project is None:
            session.project = project_label(event.cwd, self.ctx.settings.project_label)
        # Set only when they change: every event names them, and pydantic's setattr is not free.
        if event.cwd and event.cwd != session.cwd:
            session.cwd = event.cwd
        if event.transcript_path and event.transcript_path != session.transcript_path:
            session.transcript_path = event.transcript_path
        if isinstance(event, SessionStart) and event.model:
            session.model = event.model
        session.last_event_ns = self._wall_clock_ns()
        if session.run is None:
            lifecycle.start_run(self.ctx, session, event, received_ns, implicit=not isinstance(event, SessionStart))
        return session

    def _dispatch(self, session: Session, event: HookInput, now: int) -> None:
        ctx = self.ctx
        match event:
            case PreToolUse():
                tool_calls.pre_tool_use(ctx, session, event, now)
            case PostToolUse() | PostToolUseFailure():
                tool_calls.post_tool_use(ctx, session, event, now)
            case PermissionDenied():
                tool_calls.permission_denied(ctx, session, event, now)
            case PermissionRequest():
                tool_calls.permission_request(ctx, session, event, now)
            case PostToolBatch():
                tool_calls.post_tool_batch(ctx, session, event, now)
                self._annotate(session, event, now, {sc.CC_TOOL_BATCH_SIZE: len(event.tool_calls)})
            case SubagentStart():
                subagents.subagent_start(ctx, session, event, now)
            case SubagentStop():
                subagents.subagent_stop(ctx, session, event, now)
            case UserPromptSubmit():
                lifecycle.user_prompt(ctx, session, event, now)
            case Stop() | StopFailure():
                if self.usage is not None:
                    self.usage.settle(ctx, session, now)
                lifecycle.stop(ctx, session, event, now)
            case PreCompact():
                lifecycle.start_compaction(ctx, session, event, now)
            case PostCompact():
                self._annotate(session, event, now)
                lifecycle.end_compaction(ctx, session, now)
            case SessionStart():
                if (
                    session.run is not None
                    and session.run.start_ns != now
                    and not lifecycle.adopt_start(ctx, session, event, now)
                ):
                    self._annotate(session, event, now, {sc.CC_SESSION_SOURCE: event.source or "unknown"})
            case SessionEnd():
                lifecycle.end_run(ctx, session, now, event.reason or "unknown")
            case Notification():
                ctx.metrics.notification(event.notification_type or "unknown", ctx.labels(session))
                self._annotate(session, event, now, {sc.CC_NOTIFICATION_TYPE: event.notification_type or "unknown"})
            case _:
                self._annotate(session, event, now)

    def _annotate(self, session: Session, event: HookInput, now: int, extra: dict[str, Any] | None = None) -> None:
        """Puts an event on the innermost open span it belongs to, so nothing in a HookInput is lost."""
        target = nesting.innermost_open(session, event.agent_id, event.prompt_id)
        if target is not None:
            self.ctx.add_event(
                target, event.hook_event_name, now, {**self.ctx.event_attributes(event), **(extra or {})}
            )

    def close_idle(self, idle_s: float) -> int:
        """Closes sessions with no event for `idle_s` seconds (their spans marked unfinished); returns how many."""
        now = self._wall_clock_ns()
        stale = [s for s in self.state.sessions.values() if now - s.last_event_ns > idle_s * 1e9]
        for session in stale:
            end_ns = max(session.run.start_ns if session.run else 0, _last_activity_ns(session))
            lifecycle.end_run(self.ctx, session, end_ns, "idle", closed_by="idle_timeout")
            self.state.sessions.pop(session.session_id, None)
        return len(stale)


def _last_activity_ns(session: Session) -> int:
    """The newest start time among the session's open spans: where an idle session's spans are closed."""
    starts = [session.run.start_ns if session.run else 0]
    if session.turn is not None:
        starts += [session.turn.span.start_ns] + [e.timestamp_ns for e in session.turn.span.events]
    starts += [call.span.start_ns for call in session.tools.values()]
    starts += [sub.span.start_ns for sub in session.subagents.values()]
    return max(starts)
