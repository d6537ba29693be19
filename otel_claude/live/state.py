"""The agent's session state as plain data, saved whole in a snapshot after every committed batch.

Spans are built only when they end (span_emitter.py), so everything in flight is data here: an agent killed at
any moment restarts from the last snapshot and re-processes the records after it, producing the same spans
with the same ids.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from otel_claude.handoff import paths
from otel_claude.transcripts.cost import CostResult
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.prices import PriceTable

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
    permission_requested_ns: int | None = None  # the first PermissionRequest: the start of the wait on the user
    span: OpenSpan


class RefusedToolCall(BaseModel):
    """A tool call the transcript shows refused by Claude Code, waiting until its turn is over: if no PreToolUse
    came for it by then, it gets a span of its own (live/tool_calls.py)."""

    tool_use_id: str
    tool_name: str
    start_ns: int
    end_ns: int
    reason: str
    prompt_id: str | None = None


class Subagent(BaseModel):
    agent_id: str
    agent_type: str
    parent_tool_use_id: str | None = None
    span: OpenSpan


class Turn(BaseModel):
    prompt_key: str
    prompts: int = 1
    compacted: bool = False  # a compaction completed in it (a bare `/compact` is a turn with no Stop)
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
    last_compaction: list[int] | None = None  # [trace id, span id, start, end]: where its unseen LLM call goes
    tools: dict[str, ToolCall] = Field(default_factory=dict)
    subagents: dict[str, Subagent] = Field(default_factory=dict)
    # Agent/Task tool calls not yet claimed by a SubagentStart, oldest first.
    unclaimed_agent_tools: list[str] = Field(default_factory=list)
    # Tool ids already closed: a late or repeated event for them is ignored (bounded, newest kept).
    closed_tools: list[str] = Field(default_factory=list)
    closed_subagents: list[str] = Field(default_factory=list)
    closed_prompts: list[str] = Field(default_factory=list)
    refused: list[RefusedToolCall] = Field(default_factory=list)  # bounded (MAX_REFUSED in tool_calls)
    # Esc times the transcript showed before their turn or tool call opened (a replay reads whole transcripts),
    # by prompt or tool_use id: used when that turn or call closes unfinished (transcript_notices.py; bounded).
    interrupts: dict[str, int] = Field(default_factory=dict)
    reported_cost_usd: float | None = None  # Claude Code's own running cost (its cost-state lines)
    claude_code_version: str | None = None  # from its transcript's lines (hook payloads do not carry it)
    cost_usd: float = 0.0  # ours, summed over the session's LLM calls


class PendingLlmCall(BaseModel):
    """A response read from a transcript whose last line (one per content block) may still be to come."""

    call: dict[str, Any]  # transcripts.model.call_to_dict
    trace_id: int
    parent_span_id: int | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)  # beside the call's own (e.g. where it was read)
    # The LlmCall `call` was made from, its cost and the price table that cost is from, while this agent holds it:
    # the span is built from them, not from the dict (rebuilt only after a snapshot was loaded). Not in the snapshot.
    _made: tuple[LlmCall, CostResult, PriceTable] | None = PrivateAttr(default=None)


class HeldSpan(BaseModel):
    """A turn or subagent span that has ended, held until its transcript settled so it carries its LLM totals."""

    span: OpenSpan
    end_ns: int
    attributes: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    path: str = ""  # the transcript whose settle read releases it
    totals_key: str = ""  # what its LLM calls were summed under (live/llm_totals.py)
    session_id: str = ""


class TranscriptState(BaseModel):
    """One transcript file being followed: where reading stopped, what was counted, where its calls nest."""

    session_id: str
    project: str | None = None
    agent_id: str | None = None  # a subagent's transcript
    trace_id: int | None = None  # a subagent's calls go in the trace of the turn that started it
    cursor: dict[str, Any] = Field(default_factory=dict)
    dedup: dict[str, Any] = Field(default_factory=dict)
    last_used_ns: int = 0
    pending: list[PendingLlmCall] = Field(default_factory=list)  # responses whose span waits for their last line
    reported_cost_usd: float | None = None  # Claude Code's own running cost of the session (its cost-state lines)
    claude_code_version: str | None = None
    # A main transcript's tokens per model: at its last cost-state line, and read from the session's calls since
    # (live/unseen_calls.py), [input, output, cache read, cache write 5m, cache write 1h].
    cost_state_tokens: dict[str, list[int]] = Field(default_factory=dict)
    seen_tokens: dict[str, list[int]] = Field(default_factory=dict)
    held_tokens: list[tuple[int, str, list[int]]] = Field(default_factory=list)  # unseen_calls.hold_call
    compaction: list[int] | None = None  # [trace id, span id, start, end] of the session's last compaction


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
    held: list[HeldSpan] = Field(default_factory=list)  # released by the settle read of their transcript
    # Token and cost totals of the LLM calls read so far, by turn trace, subagent span and session (llm_totals.py).
    llm_totals: dict[str, list[float]] = Field(default_factory=dict)
    # Indexes of `held` and `settles` by path (live/path_index.py), with the list each was built from: not saved.
    _held_index: tuple[list[HeldSpan], Counter[str], list[str]] | None = PrivateAttr(default=None)
    _settle_index: tuple[list[tuple[int, str]], set[str]] | None = PrivateAttr(default=None)


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
