"""The transcripts the agent follows (AgentState.transcripts), indexed by session and by last use.

Per event the usage tracker asks which transcripts belong to a session (its main one, its subagents'): searching
every followed transcript (up to MAX_TRANSCRIPTS in live/usage.py) for it was a large share of an event's cost under
a backlog. The index holds the same paths as the state, in the same order (the state's dict order), so every answer
is the one the search would give. Every insertion, use and removal of a followed transcript goes through here.
The paths are also kept in the order of their last use, so the least recently used is found without looking at
every transcript's time for each new one. Bound: two index entries per followed transcript.
"""

from __future__ import annotations

from collections import OrderedDict

from otel_claude.live.state import TranscriptState


class FollowedTranscripts:
    def __init__(self, transcripts: dict[str, TranscriptState]) -> None:
        self._all = transcripts
        self._by_session: dict[str, dict[str, None]] = {}  # session id -> its paths, in the state's order
        for path, entry in transcripts.items():
            self._by_session.setdefault(entry.session_id, {})[path] = None
        # Least recently used first; a snapshot's transcripts by their saved times (ties in the state's order).
        by_use = sorted(transcripts, key=lambda path: transcripts[path].last_used_ns)
        self._by_use: OrderedDict[str, None] = OrderedDict.fromkeys(by_use)

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, path: str) -> bool:
        return path in self._all

    def get(self, path: str) -> TranscriptState | None:
        return self._all.get(path)

    def add(self, path: str, entry: TranscriptState) -> None:
        self._all[path] = entry
        self._by_session.setdefault(entry.session_id, {})[path] = None
        self._by_use[path] = None
        self._by_use.move_to_end(path)

    def touch(self, path: str, now_ns: int) -> None:
        """`path` (followed) was used at `now_ns`: it is now the most recently used."""
        self._all[path].last_used_ns = now_ns
        self._by_use.move_to_end(path)

    def remove(self, path: str) -> None:
        entry = self._all.pop(path)
        self._by_use.pop(path, None)
        paths = self._by_session.get(entry.session_id)
        if paths is not None:
            paths.pop(path, None)
            if not paths:
                del self._by_session[entry.session_id]

    def of_session(self, session_id: str) -> list[tuple[str, TranscriptState]]:
        """The session's transcripts (main and subagents'), in the order they were first followed."""
        transcripts = self._all
        return [(path, transcripts[path]) for path in self._by_session.get(session_id, ())]

    def subagent_path(self, session_id: str, agent_id: str) -> str | None:
        """The last followed transcript of this subagent of the session."""
        found = None
        for path, entry in self.of_session(session_id):
            if entry.agent_id == agent_id:
                found = path
        return found

    def main_of(self, session_id: str) -> TranscriptState | None:
        """The session's first followed main (not subagent) transcript."""
        for _, entry in self.of_session(session_id):
            if not entry.agent_id:
                return entry
        return None

    def oldest(self, count: int) -> list[str]:
        """The `count` least recently used paths."""
        oldest: list[str] = []
        for path in self._by_use:
            if len(oldest) == count:
                break
            oldest.append(path)
        return oldest
