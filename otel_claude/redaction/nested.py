"""Secrets written as JSON objects or arrays inside a text: `got {"secret": {"value": "..."}} from vault`,
`Saved {"credentials": ["..."]}`, and the same with escaped quotes inside a JSON string.

A whole JSON document is parsed and scrubbed as a structure by scrubber.py; inside prose or a log line the
document is only a part of the text, so kv.py calls this for the value of a secret-named key that opens a
`{` or `[`. The value is read to its closing bracket (at most 64 KB), parsed, and replaced whole when it holds
a string the secret key makes secret: one under a generic member (value, data, secret...) or in a list, or
under a secret key of its own. `{"auth": {"type": "oauth"}}` holds none and stays.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from otel_claude.redaction.edits import Edits
from otel_claude.redaction.keys import GENERIC_VALUE_KEYS, is_placeholder, is_sensitive_key

NAME: Final = "sensitive_key"
_MAX: Final = 64 * 1024
_CLOSE: Final = {"{": "}", "[": "]"}
_STRUCTURE_RE: Final = re.compile(r'[\[\]{}"\\]')
# Values read per text: each read may cover 64 KB, so a text built of many unclosed `"secret": {` stays linear.
MAX_PER_TEXT: Final = 32


def scrub_nested(text: str, start: int, edits: Edits) -> int | None:
    """Redact the object or array at `start` if it holds a secret; the position after it, or None if unread."""
    end = _closing(text, start)
    if end is None:
        return None
    region = text[start:end]
    escaped = '\\"' in region[:4]
    try:
        value = json.loads(region.replace('\\"', '"').replace("\\\\", "\\") if escaped else region)
    except (ValueError, RecursionError):
        return None
    if _holds_secret(value, sensitive=True, depth=0):
        edits.add(start, end, NAME)
    return end


def _holds_secret(value: Any, *, sensitive: bool, depth: int) -> bool:
    if depth > 32:
        return sensitive
    if isinstance(value, str):
        return sensitive and not is_placeholder(value)
    if isinstance(value, dict):
        return any(
            _holds_secret(
                v,
                sensitive=(sensitive and str(k).lower() in GENERIC_VALUE_KEYS) or is_sensitive_key(str(k)),
                depth=depth + 1,
            )
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_holds_secret(v, sensitive=sensitive, depth=depth + 1) for v in value)
    return False


def _closing(text: str, start: int) -> int | None:
    """The position after the bracket that closes the one at `start`, skipping strings; None if not within 64 KB.

    Only brackets, quotes and backslashes are visited (a C-speed search jumps between them).
    """
    stack = [_CLOSE[text[start]]]
    in_string = False
    escaped_string = False  # a string of a document inside a JSON string: \"...\"
    skip_to = start + 1
    for m in _STRUCTURE_RE.finditer(text, start + 1, min(len(text), start + _MAX)):
        i = m.start()
        if i < skip_to:
            continue
        c = text[i]
        if c == "\\":
            if text.startswith('\\"', i) and (not in_string or escaped_string):
                in_string, escaped_string = not in_string, True
            skip_to = i + 2  # an escape: the next character is not structure
            continue
        if in_string:
            if c == '"' and not escaped_string:
                in_string = False
            continue
        if c == '"':
            in_string, escaped_string = True, False
        elif c in "{[":
            stack.append(_CLOSE[c])
        elif c != stack.pop():
            return None
        elif not stack:
            return i + 1
    return None
