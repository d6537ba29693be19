"""Counts each API response once, although Claude Code writes several transcript lines for it.

Claude Code writes one line per content block of a response, each with the response's usage, so the same
(message.id, requestId) shows up several times. The rules are ccusage's (rust/crates/ccusage/src/adapter/claude/
mod.rs, `push_deduped_entry` and `should_replace_deduped_entry`), so our totals equal its totals:
- the key is message id + request id; a line without message id is never deduplicated;
- a sidechain line (e.g. a /btw replay) that repeats a message id under another request id is the same response;
- among lines of one response the kept one is: the non-sidechain one, else the one with the larger token total,
  else the one that carries `speed`; otherwise the first.
Memory is bounded (least recently seen message ids are forgotten) and the state serializes to JSON, so the agent
keeps it in its snapshot beside the transcript cursors. The snapshot holds the newest FULL_ROWS responses whole, and
older ones as an 8-byte digest of their message id: a line of such a response is a duplicate, whatever its request
id or usage, in an agent restarted from the snapshot. Their later lines come within a few lines of the first; an
older one comes back only when a file is read again from its start, every line of it seen before.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_claude.transcripts.model import LlmCall, Usage

DEFAULT_MAX_MESSAGES = 512  # per session: repeats come within a few lines of each other
# Responses saved whole in the snapshot; the older ones as digests (about 11 bytes each instead of about 130): a
# snapshot of 256 transcripts of 512 responses each is rewritten at every commit of the agent. Whole rows matter for
# a response whose better or repeated lines may still come: the last few of a transcript (its lines come together).
FULL_ROWS = 16
_STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)  # 1: every response whole
_DIGEST_BYTES = 8


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


def _digest(message_id: str) -> bytes:
    """A message id as the snapshot keeps an older response: stable across processes (unlike `hash`)."""
    return hashlib.blake2b(message_id.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).digest()


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
        self._sealed: dict[bytes, None] = {}  # digests of older responses, from a snapshot; oldest first
        self._digests: dict[str, bytes] = {}  # digests computed for to_dict, of messages still in _by_message

    def __len__(self) -> int:
        return len(self._by_message) + len(self._sealed)

    def observe(self, call: LlmCall) -> DedupVerdict:
        """Records `call` and says whether it is a new response, a repeat, or a better line for a known one."""
        message_id = call.message_id
        if not message_id:
            return _NEW
        by_message = self._by_message
        entries = by_message.get(message_id)
        if entries is None:
            if self._sealed and _digest(message_id) in self._sealed:
                return _DUPLICATE  # an older response of the snapshot's: seen, and none of its lines counts again
            by_message[message_id] = [_Entry(call.request_id, call.is_sidechain, call.model, call.usage)]
            if len(by_message) + len(self._sealed) > self._max:
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
        sealed, by_message = self._sealed, self._by_message
        while sealed and len(by_message) + len(sealed) > self._max:
            del sealed[next(iter(sealed))]  # the sealed responses are the oldest
        while len(by_message) > self._max:
            message_id, _ = by_message.popitem(last=False)
            self._digests.pop(message_id, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable state, oldest first: the newest FULL_ROWS responses whole, the older as digests."""
        by_message, digests = self._by_message, self._digests
        older = len(by_message) - FULL_ROWS
        sealed = list(self._sealed)
        rows: list[list[Any]] = []
        for index, (message_id, entries) in enumerate(by_message.items()):
            if index < older:
                digest = digests.get(message_id)
                if digest is None:
                    digest = digests[message_id] = _digest(message_id)
                sealed.append(digest)
                continue
            rows += ([message_id, e.request_id, e.is_sidechain, e.model, e.usage.to_list()] for e in entries)
        state: dict[str, Any] = {"version": _STATE_VERSION, "max": self._max, "entries": rows}
        if sealed:
            state["sealed"] = base64.b64encode(b"".join(sealed)).decode("ascii")
        return state

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, max_messages: int | None = None) -> Dedup:
        """Rebuilds the state saved by `to_dict`; anything unreadable starts empty rather than failing."""
        limit = max_messages or DEFAULT_MAX_MESSAGES
        if data and isinstance(data.get("max"), int) and max_messages is None:
            limit = data["max"]
        dedup = cls(limit)
        if not data or data.get("version") not in _READABLE_VERSIONS:
            return dedup
        try:
            packed = base64.b64decode(data.get("sealed") or "", validate=True)
        except (TypeError, ValueError):
            packed = b""
        usable = len(packed) - len(packed) % _DIGEST_BYTES
        dedup._sealed = dict.fromkeys(packed[at : at + _DIGEST_BYTES] for at in range(0, usable, _DIGEST_BYTES))
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
