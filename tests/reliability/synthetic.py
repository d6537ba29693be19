"""Synthetic load from the real fixture sessions: each copy gets fresh session, prompt, tool and agent ids.

A copy keeps its fixture's event order and relative timing; `interleaved` runs many copies at once, as many
concurrent Claude Code sessions would, and every copy ends with SessionEnd (so its state must be released).
With a `transcripts_root`, each copy also gets its own transcripts there (hard links to the fixture files, named
with the copy's ids), so the agent reads one transcript per session as it does live.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from otel_claude.cli.replay import to_ns

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code-2.1.330"
SESSIONS = FIXTURES / "sessions"
HOOKS = FIXTURES / "hooks"
RECORDED_PROJECTS_DIR = "/home/dev/.claude/projects"

_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # session and prompt ids
    r"|toolu_[0-9A-Za-z]{20,}"  # tool use ids
    r"|\ba[0-9a-f]{16}\b"  # subagent ids
)
# In transcripts also the API's message and request ids, which LLM-call span ids derive from.
_TRANSCRIPT_ID = re.compile(_ID.pattern + r"|msg_[0-9A-Za-z]{16,}|req_[0-9A-Za-z_]{16,}")
_ROOT = "@@root@@"


def _fresh_like(original: str) -> str:
    for prefix in ("toolu_", "msg_", "req_"):
        if original.startswith(prefix):
            return prefix + secrets.token_hex(16)[: len(original) - len(prefix)]
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


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class SessionTemplate:
    """One fixture file's events as text, to be copied with fresh ids."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.transcripts = SESSIONS / name / "transcripts"
        lines = (SESSIONS / name / "hooks.jsonl").read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        start = to_ns(entries[0]["ts"])
        self.offsets = [to_ns(entry["ts"]) - start for entry in entries]
        # Transcript paths get a placeholder root, filled in per copy.
        texts = [json.dumps(entry["payload"], separators=(",", ":")) for entry in entries]
        self.texts = [text.replace(RECORDED_PROJECTS_DIR, _ROOT) for text in texts]
        self.files = [p.relative_to(self.transcripts) for p in self.transcripts.rglob("*.jsonl")]

    def __len__(self) -> int:
        return len(self.texts)

    def copy(
        self, start_ns: int, transcripts_root: Path | None = None, *, unique_transcripts: bool = False
    ) -> list[tuple[int, bytes]]:
        """(received_ns, HookInput bytes) for one copy with fresh ids, the same ids in every event of the copy.

        Without `transcripts_root` the copy points at the fixture transcripts (shared by all copies). With it, the
        copy's transcripts are hard links to the fixture's (cheap; the API message ids inside are then shared by
        all copies, and so are the LLM-call span ids), or with `unique_transcripts` rewritten with fresh ids."""
        mapping: dict[str, str] = {}

        def fresh(match: re.Match[str]) -> str:
            original = match.group(0)
            if original not in mapping:
                mapping[original] = _fresh_like(original)
            return mapping[original]

        if transcripts_root is None:
            root = json.dumps(str(self.transcripts))[1:-1]
            return [
                (start_ns + offset, _rewrite_outside_paths(text, fresh).replace(_ROOT, root).encode())
                for offset, text in zip(self.offsets, self.texts, strict=True)
            ]
        root = json.dumps(str(transcripts_root))[1:-1]
        records = [
            (start_ns + offset, _ID.sub(fresh, text).replace(_ROOT, root).encode())
            for offset, text in zip(self.offsets, self.texts, strict=True)
        ]
        for relative in self.files:
            target = transcripts_root / _ID.sub(fresh, str(relative))
            if unique_transcripts:
                target.parent.mkdir(parents=True, exist_ok=True)
                text = (self.transcripts / relative).read_text(encoding="utf-8")
                target.write_text(_TRANSCRIPT_ID.sub(fresh, text), encoding="utf-8")
            else:
                _link(self.transcripts / relative, target)
        return records


def _rewrite_outside_paths(text: str, fresh: Any) -> str:
    """Fresh ids everywhere except inside transcript paths (which must keep naming the fixture files)."""
    parts = re.split(r'("' + re.escape(_ROOT) + r'[^"]*")', text)
    return "".join(part if part.startswith('"' + _ROOT) else _ID.sub(fresh, part) for part in parts)


def templates() -> list[SessionTemplate]:
    return [SessionTemplate(path.name) for path in sorted(SESSIONS.iterdir()) if (path / "hooks.jsonl").exists()]


def interleaved(
    total_events: int,
    concurrency: int,
    start_ns: int,
    transcripts_root: Path | None = None,
    *,
    unique_transcripts: bool = False,
) -> Iterator[tuple[int, bytes]]:
    """At least `total_events` events from copies of the fixture sessions, `concurrency` copies in flight at a
    time, round-robin one event each; whole copies only, so every session ends."""
    pool = itertools.cycle(templates())
    produced = 0
    copies_started = 0
    active: list[Iterator[tuple[int, bytes]]] = []
    while produced < total_events or active:
        while len(active) < concurrency and produced < total_events:
            template = next(pool)
            start = start_ns + copies_started * 1_000_000
            active.append(iter(template.copy(start, transcripts_root, unique_transcripts=unique_transcripts)))
            copies_started += 1
            produced += len(template)
        for events in list(active):
            item = next(events, None)
            if item is None:
                active.remove(events)
            else:
                yield item
