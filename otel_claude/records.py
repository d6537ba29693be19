"""From a spool record to a HookInput, or to a dead-letter line with the reason."""

from __future__ import annotations

import json
import os
import time

from otel_claude import spool
from otel_claude.models import HookInput, InvalidHookInput, parse_hook_input

MAX_DEAD_LETTER_PAYLOAD = 64 * 1024


class BadRecord(ValueError):
    """A record the agent cannot use; `reason` is a bounded category for the dead-letter metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_record(blob: bytes) -> tuple[int, HookInput]:
    """(received_ns, model) for a spool record; raises BadRecord."""
    try:
        received_ns, payload = spool.decode(blob)
    except ValueError as exc:
        raise BadRecord("bad_header", str(exc)) from None
    if not payload.strip():
        raise BadRecord("empty", "the hook got no input") from None
    try:
        data = json.loads(payload)
    except UnicodeDecodeError as exc:
        raise BadRecord("invalid_utf8", str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise BadRecord("invalid_json", str(exc)[:200]) from None
    try:
        return received_ns, parse_hook_input(data)
    except InvalidHookInput as exc:
        raise BadRecord("invalid_fields", str(exc)[:500]) from None
    except RecursionError:
        raise BadRecord("too_deep", "nesting too deep to validate") from None


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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, spool.FILE_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=True) + "\n")
