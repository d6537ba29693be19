"""Backfill's calls that only a cost-state line shows (e.g. `/compact`'s summary), counted as the live agent counts
them (live/unseen_calls.py): per session, what Claude Code's totals grew by between two of its cost-state lines,
minus the tokens of the calls read from the session's transcripts in between, one call per model.

"In between" for a main transcript's call is its place in the file. A subagent transcript has no place in the main
one: its call counts for the first cost-state line before the main transcript's next call after it. A run writes
its cost-state line after its subagents finished, and the next run's subagents start after that run's first call.

Each figure is a function of whole files, never of how an earlier run read them, so a line's calls are the same in
every run and the ledger (key: session and the line's offset and model, the live agent's id) holds them once.
Files read whole in this run are counted from that read; a session read partly before (a grown transcript) is read
again whole here, which is rare: it needs new cost-state lines in a file backfill already read.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from otel_claude.backfill.files import FileRead, read_file
from otel_claude.live.unseen_calls import note_call, unseen_call, unseen_usage
from otel_claude.transcripts.model import LlmCall
from otel_claude.transcripts.reader import Cursor

_NEVER = 1 << 63  # a timestamp after any other: no next call yet


@dataclass
class _Counts:
    """live/unseen_calls.py's TokenCounts."""

    cost_state_tokens: dict[str, list[int]] = field(default_factory=dict)
    seen_tokens: dict[str, list[int]] = field(default_factory=dict)


def session_directory(main_path: str) -> str:
    """Where Claude Code keeps a session's other files (its `subagents/`), beside its main transcript."""
    return os.path.splitext(main_path)[0]


def session_id_of(path: str) -> str:
    """The session a transcript belongs to, as its hook events name it: the main transcript is `<session>.jsonl`,
    a subagent's `<session>/subagents/agent-<id>.jsonl`."""
    if is_subagent_transcript(path):
        return os.path.basename(os.path.dirname(os.path.dirname(path)))
    return os.path.basename(session_directory(path))


def is_subagent_transcript(path: str) -> bool:
    name = os.path.basename(path)
    return os.path.basename(os.path.dirname(path)) == "subagents" and name.startswith("agent-")


def subagent_transcripts(main_path: str) -> list[str]:
    """The session's subagent transcripts on disk, as the live agent finds them (no symlinked directory)."""
    directory = os.path.join(session_directory(main_path), "subagents")
    if os.path.islink(directory) or not os.path.isdir(directory):
        return []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names if n.startswith("agent-") and n.endswith(".jsonl")]


class SessionCostStates:
    """The cost-state lines a read of a main transcript found, and the session's calls counted between them.

    Made from that read; `add` takes the reads of the session's subagent transcripts (they follow the main one in
    a run's file order); `unseen_calls` reads whole those not read whole here and returns the calls."""

    def __init__(self, read: FileRead) -> None:
        self.path = read.path
        self.cursor = read.cursor  # recorded only with the calls this makes: a rerun then finds the lines again
        self.new_states = read.cost_states  # the lines this read found (from the file's cursor): each run's own
        self._prefix = session_directory(read.path) + os.sep
        main = read if read.from_start else read_file(read.path, Cursor(path=read.path))
        # Only the lines of this run's read: a line written since is the next run's, with its cursor.
        self._states = sorted((s for s in main.cost_states if s.offset < read.cursor.offset), key=lambda s: s.offset)
        self._segments = [_Counts() for _ in self._states]
        self._subagents_read: set[str] = set()
        offsets = [state.offset for state in self._states]
        count = len(offsets)
        last_end = [0] * count  # the latest end of a main call before each line
        first = [_NEVER] * (count + 1)  # the earliest main call after each line, by the lines before it
        self._cwd: tuple[int, str] | None = None  # the session's first call's directory: its project label
        for call in main.calls:  # every call of the session: plain comparisons, no call per field
            at = bisect_left(offsets, call.offset)  # the lines before it: it counts for the next one
            if at < count:
                note_call(self._segments[at], call)
                end = call.end_ns or call.timestamp_ns
                if end > last_end[at]:
                    last_end[at] = end
            if call.timestamp_ns < first[at]:
                first[at] = call.timestamp_ns
            if call.cwd and (self._cwd is None or call.offset < self._cwd[0]):
                self._cwd = (call.offset, call.cwd)
        for at in range(1, count):
            last_end[at] = max(last_end[at], last_end[at - 1])
        for at in range(count - 1, -1, -1):
            first[at] = min(first[at], first[at + 1])
        self._ends = last_end
        self._next_run = first[1:]  # for each line, the first main call after it: the next run had started
        self._subagent_ends = [0] * count

    def holds(self, path: str) -> bool:
        """Whether `path` is one of this session's files (they come right after the main one, in file order)."""
        return path.startswith(self._prefix)

    def add(self, read: FileRead) -> None:
        if read.from_start and is_subagent_transcript(read.path) and self.holds(read.path):
            self._note_subagent(read.calls)
            self._subagents_read.add(read.path)

    def _note_subagent(self, calls: Iterable[LlmCall]) -> None:
        count = len(self._states)
        for call in calls:
            at = bisect_right(self._next_run, call.timestamp_ns)
            if at < count:
                note_call(self._segments[at], call)
                end = call.end_ns or call.timestamp_ns
                if end > self._subagent_ends[at]:
                    self._subagent_ends[at] = end

    @property
    def cwd(self) -> str | None:
        """The directory of the session's first call (its project label)."""
        return self._cwd[1] if self._cwd is not None else None

    def unseen_calls(self) -> list[LlmCall]:
        for path in subagent_transcripts(self.path):
            if path not in self._subagents_read:
                self._note_subagent(read_file(path, Cursor(path=path)).calls)
        session_id = session_id_of(self.path)
        cwd = self.cwd
        counts = _Counts()
        calls: list[LlmCall] = []
        for at, state in enumerate(self._states):
            counts.seen_tokens = self._segments[at].seen_tokens
            unseen = unseen_usage(counts, state)
            if not unseen:
                continue
            # Where the live agent puts it when it reads the line with the calls before it: the last one's end.
            end_ns = self._ends[at] or max(self._subagent_ends[: at + 1]) or _mtime_ns(self.path)
            calls += [unseen_call(session_id, m, u, state, self.path, end_ns, end_ns, cwd) for m, u in unseen.items()]
        return calls


def _mtime_ns(path: str) -> int:
    """A line with no call before it at all: when its file was last written, for want of anything closer."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
