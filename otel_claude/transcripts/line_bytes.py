"""What the line parser (lines.py) looks for in a line's bytes before deciding to decode it, and the decoder.

The needles are searched with `bytes.find` in the reader's buffer, bounded by a line's end or by its head's: a
line's top-level keys come before `message` / `params`, within its first HEAD bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from otel_claude.transcripts.timestamps import parse_timestamp_ns

HEAD = 4096
USAGE = b'"usage"'  # searched in the whole line; all others in the head
API_ERROR = b'"isApiErrorMessage":true'  # the whole line, too
COST_STATE = b'"cost-state"'
USER = b'"type":"user"'
ASSISTANT = b'"type":"assistant"'
API_REQUEST = b'"type":"api-request"'
PROMPT_ID = re.compile(rb'"promptId":"([^"\\]{1,128})"')
REQUEST_ID = re.compile(rb'"id":"([^"\\]{1,128})"')
TIMESTAMP = re.compile(rb'"timestamp":"([^"\\]{1,64})"')
VERSION_KEY = b'"version":"'
CLAUDE_CODE_VERSION = re.compile(rb'"version":"(\d{1,4}\.\d{1,4}\.\d{1,6}[^"\\]{0,32})"')  # begins with VERSION_KEY


def search_from(
    literal: bytes, pattern: re.Pattern[bytes], data: bytes, start: int, end: int
) -> re.Match[bytes] | None:
    """`pattern.search(data, start, end)` for a pattern that begins with `literal` and anchors nothing (no `^`, `$`,
    `\\b` or look-behind): each match starts at an occurrence of the literal, found by `bytes.find`, faster than the
    regex engine's own scan for it."""
    at = data.find(literal, start, end)
    while at >= 0:
        match = pattern.match(data, at, end)
        if match:
            return match
        at = data.find(literal, at + 1, end)
    return None


def request_sent(data: bytes, start: int, head: int) -> tuple[str, int] | None:
    """An `api-request` line's request id and time (ns), from its head `data[start:head]`."""
    request = REQUEST_ID.search(data, start, head)
    stamp = TIMESTAMP.search(data, start, head)
    if not request or not stamp:
        return None
    sent = parse_timestamp_ns(stamp.group(1).decode("ascii", "replace"))
    return None if sent is None else (request.group(1).decode("utf-8", "replace"), sent)


def _fast_loads() -> Callable[[bytes], Any]:
    """orjson's parser where installed (a dependency; several times the standard library's speed), else json's."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency, but a missing wheel must not break reading
        return json.loads
    return orjson.loads


loads = _fast_loads()
