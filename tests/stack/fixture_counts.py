"""What the fixture sessions contain, counted straight from their hooks.jsonl: the numbers the dashboards must
show after those sessions are replayed through the real hook and agent."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stack_files import FIXTURE_SESSIONS

REPLAYED_SESSIONS = ("main", "extras", "interactive")


def records(session: str) -> Iterator[dict[str, Any]]:
    for line in (FIXTURE_SESSIONS / session / "hooks.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


@dataclass(frozen=True)
class FixtureCounts:
    records: int
    calls_by_tool_outcome: Counter[tuple[str, str]]
    permission_requests_by_tool: Counter[str]
    sessions: int
    subagents_by_type: Counter[str]
    interrupted: int

    @property
    def calls_by_tool(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (tool, _), n in self.calls_by_tool_outcome.items():
            counts[tool] += n
        return counts

    def outcome_total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.calls_by_tool_outcome.items() if o == outcome)


def count(sessions: tuple[str, ...] = REPLAYED_SESSIONS) -> FixtureCounts:
    """Tool calls: every PostToolUse, PostToolUseFailure and PermissionDenied, by tool and outcome, plus each
    PreToolUse that never got one of those. otel-claude closes such a call as permission_denied when it had
    asked for permission (a PermissionRequest for the newest open call of that tool in the same agent, which
    the batch then resolved without running it), otherwise as unfinished."""
    outcomes: Counter[tuple[str, str]] = Counter()
    permission_requests: Counter[str] = Counter()
    subagents: Counter[str] = Counter()
    total = sessions_started = interrupted = 0
    for session in sessions:
        started: dict[str, tuple[str, str]] = {}  # open calls: tool_use_id -> (tool, agent_id)
        asked: set[str] = set()
        for record in records(session):
            total += 1
            event, payload = record["event"], record["payload"]
            tool, call_id = payload.get("tool_name"), payload.get("tool_use_id")
            if event == "PreToolUse":
                started[call_id] = (tool, payload.get("agent_id") or "")
            elif event in ("PostToolUse", "PostToolUseFailure", "PermissionDenied"):
                started.pop(call_id, None)
                if event == "PostToolUse":
                    outcome = "success"
                elif event == "PermissionDenied":
                    outcome = "permission_denied"
                elif payload.get("is_interrupt"):
                    outcome = "interrupted"
                    interrupted += 1
                else:
                    outcome = "error"
                outcomes[(tool, outcome)] += 1
            elif event == "PermissionRequest":
                permission_requests[tool] += 1
                agent = payload.get("agent_id") or ""
                open_calls = [cid for cid, (t, a) in started.items() if (t, a) == (tool, agent)]
                if open_calls:
                    asked.add(open_calls[-1])
            elif event == "SessionStart" and payload.get("source") != "compact":
                # A compaction continues the same session; startup, resume and clear begin one.
                sessions_started += 1
            elif event == "SubagentStart":
                subagents[payload.get("agent_type") or "subagent"] += 1
            # A SubagentStop with no SubagentStart is compaction's summarizer: a compaction, not a subagent.
        for call_id, (tool, _) in started.items():
            outcomes[(tool, "permission_denied" if call_id in asked else "unfinished")] += 1
    return FixtureCounts(total, outcomes, permission_requests, sessions_started, subagents, interrupted)


def session_dir(session: str) -> Path:
    return FIXTURE_SESSIONS / session
