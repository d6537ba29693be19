"""Synthetic load from the real fixture sessions: each copy gets fresh session, prompt, tool and agent ids.

A copy keeps its fixture's event order and relative timing; `interleaved` runs many copies at once, as many
concurrent Claude Code sessions would, and every copy ends with SessionEnd (so its state must be released).
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from otel_claude.replay import to_ns

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code-2.1.330"
SESSIONS = FIXTURES / "sessions"
HOOKS = FIXTURES / "hooks"
RECORDED_PROJECTS_DIR = "/home/dev/.claude/projects"

_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # session and prompt ids
    r"|toolu_[0-9A-Za-z]{20,}"  # tool use ids
    r"|\ba[0-9a-f]{16}\b"  # subagent ids
)
_PLACEHOLDER = re.compile(r"@@path(\d+)@@")


def _fresh_like(original: str) -> str:
    if original.startswith("toolu_"):
        return "toolu_" + secrets.token_hex(16)[: len(original) - 6]
    if original.startswith("a") and len(original) == 17:
        return "a" + secrets.token_hex(8)
    return str(uuid.uuid4())


def fixture_payloads() -> list[dict[str, Any]]:
    """Every single-event payload captured in tests/fixtures/.../hooks/*.json."""
    payloads: list[dict[str, Any]] = []
    for path in sorted(HOOKS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        payloads.extend(data if isinstance(data, list) else [data])
    return payloads


def big_tool_response(size: int = 1 << 20) -> dict[str, Any]:
    """A PostToolUse whose tool response is `size` bytes of text, like a large `cat`."""
    base = next(p for p in fixture_payloads() if p["hook_event_name"] == "PostToolUse")
    line = "0123456789abcdef" * 7 + "\n"
    body = (line * (size // len(line) + 1))[:size]
    return {**base, "tool_response": {"stdout": body, "stderr": "", "interrupted": False, "isImage": False}}


class SessionTemplate:
    """One fixture file's events as text, to be copied with fresh ids."""

    def __init__(self, name: str) -> None:
        directory = SESSIONS / name
        self.name = name
        lines = (directory / "hooks.jsonl").read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        transcripts = str(directory / "transcripts")
        # Transcript paths point at the real fixture transcripts and keep their names (the ids in them must not
        # be renewed): they are held out of the id rewrite as placeholders.
        self.paths: list[str] = []
        for entry in entries:
            payload = entry["payload"]
            for field in ("transcript_path", "agent_transcript_path"):
                value = payload.get(field)
                if isinstance(value, str) and value.startswith(RECORDED_PROJECTS_DIR + "/"):
                    payload[field] = f"@@path{len(self.paths)}@@"
                    self.paths.append(json.dumps(transcripts + value[len(RECORDED_PROJECTS_DIR) :])[1:-1])
        start = to_ns(entries[0]["ts"])
        self.offsets = [to_ns(entry["ts"]) - start for entry in entries]
        self.texts = [json.dumps(entry["payload"], separators=(",", ":")) for entry in entries]

    def __len__(self) -> int:
        return len(self.texts)

    def copy(self, start_ns: int) -> list[tuple[int, bytes]]:
        """(received_ns, HookInput bytes) for one copy with fresh ids, the same ids in every event of the copy."""
        mapping: dict[str, str] = {}

        def fresh(match: re.Match[str]) -> str:
            original = match.group(0)
            if original not in mapping:
                mapping[original] = _fresh_like(original)
            return mapping[original]

        def path(match: re.Match[str]) -> str:
            return self.paths[int(match.group(1))]

        return [
            (start_ns + offset, _PLACEHOLDER.sub(path, _ID.sub(fresh, text)).encode())
            for offset, text in zip(self.offsets, self.texts, strict=True)
        ]


def templates() -> list[SessionTemplate]:
    return [SessionTemplate(path.name) for path in sorted(SESSIONS.iterdir()) if (path / "hooks.jsonl").exists()]


def interleaved(total_events: int, concurrency: int, start_ns: int) -> Iterator[tuple[int, bytes]]:
    """At least `total_events` events from copies of the fixture sessions, `concurrency` copies in flight at a
    time, round-robin one event each; whole copies only, so every session ends."""
    pool = itertools.cycle(templates())
    produced = 0
    copies_started = 0
    active: list[Iterator[tuple[int, bytes]]] = []
    while produced < total_events or active:
        while len(active) < concurrency and produced < total_events:
            template = next(pool)
            active.append(iter(template.copy(start_ns + copies_started * 1_000_000)))
            copies_started += 1
            produced += len(template)
        for events in list(active):
            item = next(events, None)
            if item is None:
                active.remove(events)
            else:
                yield item
