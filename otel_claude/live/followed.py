"""The transcripts the agent follows (AgentState.transcripts), indexed by session.

Per event the usage tracker asks which transcripts belong to a session (its main one, its subagents'): searching
every followed transcript (up to MAX_TRANSCRIPTS in live/usage.py) for it was a large share of an event's cost under
a backlog. The index holds the same paths as the state, in the same order (the state's dict order), so every answer
is the one the search would give. Every insertion and removal of a followed transcript goes through here.
Bound: one index entry per followed transcript.
"""

from __future__ import annotations

from operator import attrgetter

from otel_claude.live.state import TranscriptState

_last_used = attrgetter("last_used_ns")


class FollowedTranscripts:
    def __init__(self, transcripts: dict[str, TranscriptState]) -> None:
        self._all = transcripts
        self._by_session: dict[str, dict[str, None]] = {}  # session id -> its paths, in the state's order
        for path, entry in transcripts.items():
            self._by_session.setdefault(entry.session_id, {})[path] = None

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, path: str) -> bool:
        return path in self._all

    def get(self, path: str) -> TranscriptState | None:
        return self._all.get(path)

    def add(self, path: str, entry: TranscriptState) -> None:
        self._all[path] = entry
        self._by_session.setdefault(entry.session_id, {})[path] = None

    def remove(self, path: str) -> None:
        entry = self._all.pop(path)
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
        """The `count` least recently used paths (the first of equals, in order)."""
        transcripts = self._all
        if count == 1:  # usually one over: finding the oldest is cheaper than sorting, and runs at C speed
            used = list(map(_last_used, transcripts.values()))
            return [list(transcripts)[used.index(min(used))]]
        return sorted(transcripts, key=lambda path: transcripts[path].last_used_ns)[:count]
