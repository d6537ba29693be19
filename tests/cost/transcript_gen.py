"""Writes Claude Code-shaped transcripts (2.1.330 line types) for tests and benchmarks.

Lines are compact JSON, as Claude Code writes them (ccusage only reads lines containing `"usage":{`).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def usage(
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read: int = 0,
    cache_5m: int = 0,
    cache_1h: int = 0,
    speed: str | None = "standard",
    breakdown: bool = True,
    inference_geo: str = "",
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if breakdown:
        raw["cache_creation"] = {"ephemeral_1h_input_tokens": cache_1h, "ephemeral_5m_input_tokens": cache_5m}
    raw["inference_geo"] = inference_geo
    if speed is not None:
        raw["speed"] = speed
    return raw


@dataclass
class SessionWriter:
    """Builds the lines of one session transcript; `lines` is what goes into the file."""

    session_id: str
    cwd: str = "/home/dev/project"
    agent_id: str | None = None
    sidechain: bool = False
    lines: list[str] = field(default_factory=list)
    _n: int = 0

    def _next(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self.session_id[:8]}_{self.agent_id or 'main'}_{self._n:06d}"

    def _common(self, moment: datetime) -> dict[str, Any]:
        common: dict[str, Any] = {
            "isSidechain": self.sidechain,
            "timestamp": iso(moment),
            "sessionId": self.session_id,
            "version": "2.1.330",
            "cwd": self.cwd,
            "userType": "external",
        }
        if self.agent_id:
            common["agentId"] = self.agent_id
        return common

    def prompt(self, prompt_id: str, moment: datetime, text: str = "do the thing") -> None:
        self.lines.append(
            dumps(
                {
                    "parentUuid": None,
                    "isSidechain": self.sidechain,
                    "promptId": prompt_id,
                    "type": "user",
                    "message": {"role": "user", "content": text},
                    "uuid": self._next("u"),
                    **self._common(moment),
                }
            )
        )

    def tool_result(self, prompt_id: str, moment: datetime, size: int) -> None:
        body = "x" * size
        self.lines.append(
            dumps(
                {
                    "isSidechain": self.sidechain,
                    "promptId": prompt_id,
                    "type": "user",
                    "message": {"role": "user", "content": [{"type": "tool_result", "content": body}]},
                    "toolUseResult": {"stdout": body[: size // 4], "stderr": ""},
                    "uuid": self._next("u"),
                    **self._common(moment),
                }
            )
        )

    def response(
        self,
        model: str,
        moment: datetime,
        raw_usage: dict[str, Any],
        blocks: int = 1,
        message_id: str | None = None,
        request_id: str | None = None,
        stop_reason: str = "end_turn",
        text_size: int = 40,
        block_usages: list[dict[str, Any]] | None = None,
    ) -> tuple[str, str]:
        """An api-request line, then `blocks` assistant lines of one response (each with the usage)."""
        message_id = message_id or self._next("msg")
        request_id = request_id or self._next("req")
        ref = self._next("ref")
        sent = moment - timedelta(milliseconds=800)
        self.lines.append(
            dumps(
                {
                    "type": "api-request",
                    "sessionId": self.session_id,
                    "id": ref,
                    "timestamp": iso(sent),
                    "version": "2.1.330",
                    "params": {"model": model},
                }
            )
        )
        for block in range(blocks):
            block_usage = block_usages[block] if block_usages else raw_usage
            content = [{"type": "text", "text": "y" * text_size}]
            self.lines.append(
                dumps(
                    {
                        "parentUuid": None,
                        "message": {
                            "id": message_id,
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": content,
                            "stop_reason": stop_reason,
                            "usage": block_usage,
                        },
                        "requestId": request_id,
                        "requestRef": ref,
                        "requestedModel": model,
                        "type": "assistant",
                        "uuid": self._next("a"),
                        **self._common(moment + timedelta(milliseconds=5 * block)),
                    }
                )
            )
        return message_id, request_id

    def cost_state(self, total: float, models: dict[str, float]) -> None:
        self.lines.append(
            dumps(
                {
                    "type": "cost-state",
                    "sessionId": self.session_id,
                    "totalCostUSD": total,
                    "modelUsage": {m: {"inputTokens": 1, "outputTokens": 1, "costUSD": c} for m, c in models.items()},
                    "hasUnknownModelCost": False,
                }
            )
        )

    def raw(self, text: str) -> None:
        self.lines.append(text)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def write(self, path: str) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.text())
        return path


def turn_lines(session: SessionWriter, moment: datetime, rng: random.Random, model: str, result_size: int) -> None:
    """One realistic turn: a prompt, a few tool round trips, two blocks per response, cost-state at the end."""
    prompt_id = f"p-{rng.getrandbits(64):016x}"
    session.prompt(prompt_id, moment)
    for step in range(3):
        moment += timedelta(seconds=2)
        raw = usage(rng.randint(1, 400), rng.randint(10, 900), rng.randint(0, 150_000), 0, rng.randint(0, 4000))
        session.response(model, moment, raw, blocks=2, stop_reason="tool_use" if step < 2 else "end_turn")
        session.tool_result(prompt_id, moment, result_size)
    session.cost_state(rng.random(), {model: rng.random()})


def corpus_lines(
    session_id: str, target_bytes: int, seed: int = 7, result_size: int = 6000, agent_id: str | None = None
) -> Iterator[str]:
    """Lines of one big session transcript (or of one subagent's, with `agent_id`) of about `target_bytes`."""
    rng = random.Random(seed)
    moment = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    written = 0
    session = SessionWriter(session_id, agent_id=agent_id, sidechain=agent_id is not None)
    while written < target_bytes:
        turn_lines(session, moment, rng, "claude-opus-4-6", result_size)
        for line in session.lines:
            written += len(line) + 1
            yield line
        session.lines.clear()
        moment += timedelta(minutes=1)
