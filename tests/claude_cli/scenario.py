"""Scenario files for the Messages API stand-in: what the fake model answers, step by step.

A scenario is a JSON object:

    {
      "description": "what the run exercises",
      "compact_summary": "text the stand-in answers a /compact summarising request with (optional)",
      "files": {"CLAUDE.md": "..."},                        # created in the project directory first (optional)
      "runs": [                                             # the `claude -p` invocations, in order
        {"prompt": "E2E_TOOLS_OK: ...",                     # carries the conversation's marker
         "permission_mode": "default",                      # optional, default bypassPermissions
         "resume": true,                                    # optional: resume the session of the first run
         "concurrent": true}                                # optional: start together with the next concurrent runs
      ],
      "responses": [
        {"conversation": "E2E_TOOLS_OK",                   # the marker that names the conversation
         "content": [{"type": "text", "text": "..."},
                     {"type": "tool_use", "name": "Bash", "input": {"command": "..."}}],
         "usage": {"input_tokens": 12, ...},                # optional: otherwise estimated from the request
         "delay_ms": 40,                                     # optional: time before the answer starts
         "block_delay_ms": 400,                              # optional: time between two content blocks
         "after_conversation": "E2E_OTHER",                  # optional: answer once that one asked too (<= 60 s)
         "model": "...", "stop_reason": "..."},             # optional
        ...
      ]
    }

Each response answers the next model request of its conversation, in file order. A request belongs to the
conversation whose marker appears first in its earliest user message that carries a marker: the prompt of the
session (`claude -p "E2E_TOOLS_OK: ..."`) or the prompt the main agent gave a subagent (`SUBAGENT_TASK_1: ...`).
Strings may hold `{{name}}` placeholders (e.g. `{{workdir}}`), filled in when the scenario is loaded.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).parent / "scenarios"

# The summarising request of /compact ends with an instruction to summarise; these phrases identify it.
COMPACT_MARKERS = ("create a detailed summary of the conversation", "summary of the conversation so far")


@dataclass(frozen=True)
class Step:
    conversation: str
    content: tuple[dict[str, Any], ...]
    usage: dict[str, Any] | None = None
    model: str | None = None
    stop_reason: str | None = None
    delay_ms: int = 0
    block_delay_ms: int = 0  # streamed between content blocks: the lines of one response land apart
    after_conversation: str | None = None  # held until this conversation's first request arrived (overlap, made sure)

    def content_blocks(self) -> list[dict[str, Any]]:
        """The content to send, with fresh tool_use ids (the API's `toolu_01` + 22 characters) where none is set."""
        blocks = copy.deepcopy(list(self.content))
        for block in blocks:
            if block["type"] == "tool_use" and "id" not in block:
                block["id"] = "toolu_01" + uuid.uuid4().hex[:22]
        return blocks

    def tool_names(self) -> list[str]:
        return [b["name"] for b in self.content if b["type"] == "tool_use"]


@dataclass(frozen=True)
class Run:
    prompt: str
    permission_mode: str = "bypassPermissions"
    resume: bool = False
    concurrent: bool = False


@dataclass
class Scenario:
    name: str
    steps: list[Step]
    runs: list[Run] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    description: str = ""
    compact_summary: str = "The user asked for a few file operations; they all ran. Nothing is pending."
    _by_conversation: dict[str, list[Step]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for step in self.steps:
            self._by_conversation.setdefault(step.conversation, []).append(step)

    def conversations(self) -> dict[str, list[Step]]:
        return self._by_conversation

    def conversation_of(self, body: dict[str, Any]) -> str | None:
        """The conversation a Messages API request belongs to, or None (titles, classifiers, unknown prompts)."""
        markers = sorted(self._by_conversation, key=len, reverse=True)  # longest first: no prefix shadows another
        for message in body.get("messages") or []:
            if message.get("role") != "user":
                continue
            text = _user_text(message.get("content"))
            found = [(text.find(m), -len(m), m) for m in markers if m in text]
            if found:
                return min(found)[2]
        return None

    def tool_calls(self) -> list[tuple[str, str]]:
        """(conversation, tool name) of every scripted tool call, in file order."""
        return [(s.conversation, name) for s in self.steps for name in s.tool_names()]


def _user_text(content: Any) -> str:
    """The text of a user message: its text blocks and tool results, not the assistant's tool inputs."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(_user_text(block.get("content")))
    return "\n".join(parts)


def _fill(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in variables.items():
            value = value.replace("{{" + key + "}}", replacement)
        return value
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, variables) for k, v in value.items()}
    return value


def load_scenario(name_or_path: str | Path, variables: dict[str, str] | None = None) -> Scenario:
    """Load `scenarios/<name>.json` (or a path), filling `{{name}}` placeholders from `variables`."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.json"
    raw = _fill(json.loads(path.read_text(encoding="utf-8")), variables or {})
    steps = []
    for i, item in enumerate(raw["responses"]):
        content = item.get("content")
        if not item.get("conversation") or not isinstance(content, list) or not content:
            raise ValueError(f"{path.name}: response {i} needs a conversation and a non-empty content list")
        steps.append(
            Step(
                conversation=item["conversation"],
                content=tuple(content),
                usage=item.get("usage"),
                model=item.get("model"),
                stop_reason=item.get("stop_reason"),
                delay_ms=int(item.get("delay_ms", 0)),
                block_delay_ms=int(item.get("block_delay_ms", 0)),
                after_conversation=item.get("after_conversation"),
            )
        )
    runs = [
        Run(
            prompt=r["prompt"],
            permission_mode=r.get("permission_mode", "bypassPermissions"),
            resume=bool(r.get("resume")),
            concurrent=bool(r.get("concurrent")),
        )
        for r in raw.get("runs", [])
    ]
    scenario = Scenario(
        name=path.stem, steps=steps, runs=runs, files=dict(raw.get("files", {})), description=raw.get("description", "")
    )
    if raw.get("compact_summary"):
        scenario.compact_summary = raw["compact_summary"]
    left = _placeholders(raw)
    if left:
        raise ValueError(f"{path.name}: unfilled placeholders {sorted(set(left))}")
    return scenario


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        out = []
        start = value.find("{{")
        while start != -1:
            end = value.find("}}", start)
            if end == -1:
                break
            out.append(value[start + 2 : end])
            start = value.find("{{", end)
        return out
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    return []
