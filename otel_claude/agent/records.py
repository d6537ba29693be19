"""From a spool record to a HookInput, or to a dead-letter line with the reason."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import orjson

from otel_claude.handoff import paths, spool
from otel_claude.live.events import HookInput, InvalidHookInput, parse_hook_input

MAX_DEAD_LETTER_PAYLOAD = 64 * 1024
# dead-letters.jsonl is rotated past this size, one old file kept: a flood of bad records cannot fill the disk.
MAX_DEAD_LETTER_FILE = 16 * 1024 * 1024
# JSON can escape a lone UTF-16 surrogate ("\ud800"; JavaScript strings cut between the two halves of a pair
# have them), json.loads keeps it in the str, and nothing can encode it as UTF-8: a tool name with one made
# every later OTLP span export fail (the whole batch, retried forever) and the Prometheus endpoint answer 500.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every digit as a 9, every other byte as a space: a run of 19 nines then marks a number orjson may not keep exact.
_DIGITS_AS_NINES = bytes(0x39 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER = b"9" * 19
# The session of a record still being written: Claude Code writes session_id first, so it is there early.
_WRITTEN_SESSION_ID = re.compile(rb'"session_id"\s*:\s*"((?:[^"\\]|\\.){1,256})"')


class BadRecord(ValueError):
    """A record the agent cannot use; `reason` is a bounded category for the dead-letter metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_record(blob: bytes) -> tuple[int, HookInput]:
    """(received_ns, model) for a spool record; raises BadRecord, or spool.IncompleteRecord while being written."""
    try:
        received_ns, payload = spool.decode(blob)
    except spool.IncompleteRecord:
        raise
    except ValueError as exc:
        raise BadRecord("bad_header", str(exc)) from None
    if not payload.strip():
        raise BadRecord("empty", "the hook got no input") from None
    try:
        data = _loads(payload)
    except UnicodeDecodeError as exc:
        raise BadRecord("invalid_utf8", str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise BadRecord("invalid_json", str(exc)[:200]) from None
    try:
        if _SURROGATE_ESCAPE.search(payload):
            data = _replace_surrogates(data)  # pairs were joined by json.loads: what is left is lone
        return received_ns, parse_hook_input(data)
    except InvalidHookInput as exc:
        raise BadRecord("invalid_fields", str(exc)[:500]) from None
    except RecursionError:
        raise BadRecord("too_deep", "nesting too deep to validate") from None


def _loads(payload: bytes) -> Any:
    """json.loads's result, by orjson where it gives the same (about twice as fast on a HookInput): not for a payload
    orjson refuses (NaN, a lone surrogate escape, an infinite number, deep nesting), which json decodes or rejects as
    before, nor for one with a run of 19 digits, since orjson reads an integer past 64 bits as a float."""
    if _LONG_NUMBER not in payload.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    return json.loads(payload)


def written_session_id(blob: bytes) -> str | None:
    """The session_id of a record whose payload is not all written yet, if that much of it is there."""
    found = _WRITTEN_SESSION_ID.search(blob)
    if found is None:
        return None
    try:
        session: object = json.loads(b'"' + found.group(1) + b'"')
    except ValueError:
        return None
    return session if isinstance(session, str) else None


def _replace_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    return value


def write_dead_letter(path: str, name: str, blob: bytes, error: BadRecord) -> None:
    """Appends one JSON line with the reason and (a bounded prefix of) the raw record. Local file, 0600."""
    line = {
        "record": name,
        "dead_lettered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reason": error.reason,
        "detail": error.detail,
        "size": len(blob),
        "payload_prefix": blob[:MAX_DEAD_LETTER_PAYLOAD].decode("utf-8", "backslashreplace"),
    }
    try:
        if os.lstat(path).st_size > MAX_DEAD_LETTER_FILE:
            os.replace(path, path + ".1")
    except FileNotFoundError:
        pass
    paths.append_bytes(path, (json.dumps(line, ensure_ascii=True) + "\n").encode("ascii"))
