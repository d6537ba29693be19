"""Counts each API response once, although Claude Code writes several transcript lines for it.

Claude Code writes one line per content block of a response, each with the response's usage, so the same
(message.id, requestId) shows up several times. The rules are ccusage's (rust/crates/ccusage/src/adapter/claude/
mod.rs, `push_deduped_entry` and `should_replace_deduped_entry`), so our totals equal its totals:
- the key is message id + request id; a line without message id is never deduplicated;
- a sidechain line (e.g. a /btw replay) that repeats a message id under another request id is the same response;
- among lines of one response the kept one is: the non-sidechain one, else the one with the larger token total,
  else the one that carries `speed`; otherwise the first.
Memory is bounded (least recently seen message ids are forgotten) and the state serializes to JSON, so the agent
keeps it in its snapshot beside the transcript cursors.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_claude.transcripts.model import LlmCall, Usage

DEFAULT_MAX_MESSAGES = 512  # per session: repeats come within a few lines of each other
_STATE_VERSION = 1


class Outcome(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class DedupVerdict:
    outcome: Outcome
    previous: Usage | None = None  # for REPLACED: the usage counted so far, so callers can add the difference
    previous_model: str | None = None


@dataclass(slots=True)
class _Entry:
    request_id: str | None
    is_sidechain: bool
    model: str
    usage: Usage


# The verdicts without a previous usage, made once: frozen, so sharing them is safe (observe runs per call).
_NEW = DedupVerdict(Outcome.NEW)
_DUPLICATE = DedupVerdict(Outcome.DUPLICATE)


def _should_replace(call: LlmCall, existing: _Entry) -> bool:
    if call.is_sidechain != existing.is_sidechain:
        return existing.is_sidechain
    if call.usage.total_tokens != existing.usage.total_tokens:
        return call.usage.total_tokens > existing.usage.total_tokens
    return call.usage.speed is not None and existing.usage.speed is None


class Dedup:
    """The responses seen so far, by message id."""

    def __init__(self, max_messages: int = DEFAULT_MAX_MESSAGES) -> None:
        self._max = max(1, max_messages)
        self._by_message: OrderedDict[str, list[_Entry]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_message)

    def observe(self, call: LlmCall) -> DedupVerdict:
        """Records `call` and says whether it is a new response, a repeat, or a better line for a known one."""
        message_id = call.message_id
        if not message_id:
            return _NEW
        by_message = self._by_message
        entries = by_message.get(message_id)
        if entries is None:
            by_message[message_id] = [_Entry(call.request_id, call.is_sidechain, call.model, call.usage)]
            if len(by_message) > self._max:
                self._evict()
            return _NEW
        by_message.move_to_end(message_id)
        match = next((e for e in entries if e.request_id == call.request_id), None)
        if match is None:
            match = next((e for e in entries if call.is_sidechain or e.is_sidechain), None)
        if match is None:
            entries.append(self._entry(call))
            return _NEW
        if not _should_replace(call, match):
            return _DUPLICATE
        previous, previous_model = match.usage, match.model
        match.request_id, match.is_sidechain, match.model, match.usage = (
            call.request_id,
            call.is_sidechain,
            call.model,
            call.usage,
        )
        return DedupVerdict(Outcome.REPLACED, previous=previous, previous_model=previous_model)

    @staticmethod
    def _entry(call: LlmCall) -> _Entry:
        return _Entry(call.request_id, call.is_sidechain, call.model, call.usage)

    def _evict(self) -> None:
        while len(self._by_message) > self._max:
            self._by_message.popitem(last=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable state, oldest first."""
        rows = [
            [message_id, e.request_id, e.is_sidechain, e.model, e.usage.to_list()]
            for message_id, entries in self._by_message.items()
            for e in entries
        ]
        return {"version": _STATE_VERSION, "max": self._max, "entries": rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, max_messages: int | None = None) -> Dedup:
        """Rebuilds the state saved by `to_dict`; anything unreadable starts empty rather than failing."""
        limit = max_messages or DEFAULT_MAX_MESSAGES
        if data and isinstance(data.get("max"), int) and max_messages is None:
            limit = data["max"]
        dedup = cls(limit)
        if not data or data.get("version") != _STATE_VERSION:
            return dedup
        for row in data.get("entries") or ():
            try:
                message_id, request_id, sidechain, model, usage = row
                entry = _Entry(
                    request_id if isinstance(request_id, str) else None,
                    bool(sidechain),
                    str(model),
                    Usage.from_list(list(usage)),
                )
            except (TypeError, ValueError):
                continue
            dedup._by_message.setdefault(str(message_id), []).append(entry)
        dedup._evict()
        return dedup
