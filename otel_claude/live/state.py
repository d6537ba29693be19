"""The agent's session state as plain data, saved whole in a snapshot after every committed batch.

Spans are built only when they end (span_emitter.py), so everything in flight is data here: an agent killed at
any moment restarts from the last snapshot and re-processes the records after it, producing the same spans
with the same ids.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from otel_claude.handoff import paths

_log = logging.getLogger(__name__)
SNAPSHOT_VERSION = 1
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024  # a bigger file is not ours to load whole
CORRUPT_SUFFIX = ".corrupt."
KEEP_CORRUPT = 5


class PendingEvent(BaseModel):
    name: str
    timestamp_ns: int
    attributes: dict[str, Any] = Field(default_factory=dict)


class OpenSpan(BaseModel):
    """A span that has started and not yet ended."""

    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None = None
    start_ns: int
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[PendingEvent] = Field(default_factory=list)
    links: list[tuple[int, int]] = Field(default_factory=list)


class ToolCall(BaseModel):
    tool_use_id: str
    tool_name: str
    agent_id: str | None = None
    prompt_key: str | None = None
    permission_requested: bool = False
    span: OpenSpan


class Subagent(BaseModel):
    agent_id: str
    agent_type: str
    parent_tool_use_id: str | None = None
    span: OpenSpan


class Turn(BaseModel):
    prompt_key: str
    prompts: int = 1
    span: OpenSpan


class Session(BaseModel):
    session_id: str
    project: str | None = None
    cwd: str | None = None
    transcript_path: str | None = None
    model: str | None = None
    last_event_ns: int = 0
    run: OpenSpan | None = None  # SessionStart .. SessionEnd
    turn: Turn | None = None
    compaction: OpenSpan | None = None
    tools: dict[str, ToolCall] = Field(default_factory=dict)
    subagents: dict[str, Subagent] = Field(default_factory=dict)
    # Agent/Task tool calls not yet claimed by a SubagentStart, oldest first.
    unclaimed_agent_tools: list[str] = Field(default_factory=list)
    # Tool ids already closed: a late or repeated event for them is ignored (bounded, newest kept).
    closed_tools: list[str] = Field(default_factory=list)
    closed_subagents: list[str] = Field(default_factory=list)
    closed_prompts: list[str] = Field(default_factory=list)
    reported_cost_usd: float | None = None  # Claude Code's own running cost (its cost-state lines)
    cost_usd: float = 0.0  # ours, summed over the session's LLM calls


class TranscriptState(BaseModel):
    """One transcript file being followed: where reading stopped, what was counted, where its calls nest."""

    session_id: str
    project: str | None = None
    agent_id: str | None = None  # a subagent's transcript
    trace_id: int | None = None  # a subagent's calls go in the trace of the turn that started it
    cursor: dict[str, Any] = Field(default_factory=dict)
    dedup: dict[str, Any] = Field(default_factory=dict)
    last_used_ns: int = 0


class AgentState(BaseModel):
    version: int = SNAPSHOT_VERSION
    sessions: dict[str, Session] = Field(default_factory=dict)
    # Names of the last committed batch: if the agent died before deleting them, they are not processed twice.
    committed_names: list[str] = Field(default_factory=list)
    unknown_models: list[str] = Field(default_factory=list)
    # Transcripts by path, kept beyond their session's end (a resumed session appends to the same file).
    transcripts: dict[str, TranscriptState] = Field(default_factory=dict)
    # (due wall-clock ns, path): re-reads after Stop, for the lines Claude Code writes after the hook fired.
    settles: list[tuple[int, str]] = Field(default_factory=list)
    # Counter totals by metric and series (export/counter_totals.py): counts survive an agent restart exactly once.
    counters: dict[str, dict[str, float]] = Field(default_factory=dict)


def snapshot_path(state_dir: str) -> str:
    return paths.StatePaths(state_dir).snapshot


def load(state_dir: str) -> AgentState:
    path = snapshot_path(state_dir)
    try:
        data = paths.read_private(path, MAX_SNAPSHOT_BYTES)
    except OSError as exc:
        _log.warning("cannot open the state snapshot %s (%s); starting empty", path, exc)
        return AgentState()
    if data is None:
        return AgentState()
    try:
        state = AgentState.model_validate_json(data)
    except (OSError, ValidationError, ValueError) as exc:
        _keep_aside(path, f"unreadable ({str(exc)[:200]})")
        return AgentState()
    if state.version != SNAPSHOT_VERSION:
        _keep_aside(path, f"version {state.version}, not {SNAPSHOT_VERSION}")
        return AgentState()
    return state


def _keep_aside(path: str, why: str) -> None:
    """Renames a snapshot that cannot be used, instead of overwriting it with the next save: someone can look at
    it, and `status` reports it. Only the newest KEEP_CORRUPT are kept, so a corrupting bug cannot fill the disk."""
    aside = f"{path}{CORRUPT_SUFFIX}{time.time_ns()}"
    try:
        os.rename(path, aside)
    except OSError as exc:
        _log.error("state snapshot %s is %s and cannot be kept aside (%s); starting empty", path, why, exc)
        return
    _log.error("state snapshot %s is %s; kept aside as %s, starting empty", path, why, aside)
    for old in kept_aside(os.path.dirname(path) or ".")[:-KEEP_CORRUPT]:
        try:
            os.unlink(old)
        except OSError:
            pass


def kept_aside(state_dir: str) -> list[str]:
    """The snapshots set aside as unusable, oldest first."""
    prefix = os.path.basename(snapshot_path(state_dir)) + CORRUPT_SUFFIX
    try:
        names = [name for name in os.listdir(state_dir) if name.startswith(prefix)]
    except OSError:
        return []
    return [os.path.join(state_dir, name) for name in sorted(names)]


def save(state_dir: str, state: AgentState) -> None:
    """Atomically replaces the snapshot (write, fsync, rename): a crash leaves the old or the new one."""
    paths.write_atomic(snapshot_path(state_dir), state.model_dump_json().encode())
