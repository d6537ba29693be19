"""Bounded forms of the names that go out unscrubbed: metric label values and span attributes treated as safe.

Tool, agent, model, project and notification names come from the payload, so they can hold anything a user or
an MCP server put there. A name that looks like one (a short run of identifier characters, nothing the scrubber
would remove, not a random token) is kept; anything else becomes `other`. An MCP tool name
(`mcp__<server>__<tool>`) keeps each part that looks like an identifier. The same function serves the metric
label, the span attribute and the span name, so the three always agree.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from otel_claude import semconv
from otel_claude.redaction.text import scrub_text

OTHER: Final = "other"
MAX_NAME: Final = 100
# Model names carry brackets (claude-opus-4-6[1m]); agent types a plugin prefix (plugin:reviewer).
_NAME_RE: Final = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._:@+\[\]/-]{0,99}")  # .py: a file extension
_PROJECT_RE: Final = re.compile(r"[A-Za-z0-9._][A-Za-z0-9 ._+@-]{0,99}")  # a directory name may hold spaces
_MCP_PART_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_MCP_PREFIX: Final = "mcp__"


def _clean(value: str) -> bool:
    """Nothing the scrubber would remove: no known format, no random token (its last stage, by entropy)."""
    return not scrub_text(value)[1]


@functools.lru_cache(maxsize=4096)
def bounded_name(value: str) -> str:
    """`value` when it looks like a name, else `other`. Names repeat, so the answer is cached."""
    if _NAME_RE.fullmatch(value) is None:
        return OTHER
    if value.startswith(_MCP_PREFIX):
        return bounded_tool_name(value)
    return value if _clean(value) else OTHER


@functools.lru_cache(maxsize=4096)
def bounded_tool_name(value: str) -> str:
    """A tool name; `mcp__server__tool` keeps the server and the tool only where each looks like an identifier."""
    if not value.startswith(_MCP_PREFIX):
        return bounded_name(value)
    server, _, tool = value[len(_MCP_PREFIX) :].partition("__")
    parts = [p if _MCP_PART_RE.fullmatch(p) and _clean(p) else OTHER for p in (server, tool)]
    return _MCP_PREFIX + "__".join(parts)


@functools.lru_cache(maxsize=4096)
def is_bounded_project(value: str) -> bool:
    """A project label (a directory's name) that may go out as it is. Cached: it is asked on every metric point."""
    return _PROJECT_RE.fullmatch(value) is not None and _clean(value)


def bound_attribute(key: str, value: object) -> tuple[object, bool]:
    """The bounded form of a name attribute's value (a string or a list of them), and whether it changed."""
    if isinstance(value, str):
        new = bound_value(key, value)
        return new, new != value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = tuple(bound_value(key, v) for v in value)
        return items, items != tuple(value)
    return value, False


def bound_value(key: str, value: str) -> str:
    """The bounded form of one name stored under `key` (an attribute or a metric label)."""
    if key == semconv.CC_PROJECT:
        return value if is_bounded_project(value) else OTHER
    return bounded_tool_name(value) if key == semconv.GEN_AI_TOOL_NAME else bounded_name(value)


# Span names that carry a name: `{operation} {name}`. The name part gets the bounded form of the attribute
# that holds the same value, so the two agree.
_SPAN_NAME_KEYS: Final = {
    semconv.GEN_AI_OPERATION_EXECUTE_TOOL: semconv.GEN_AI_TOOL_NAME,
    semconv.GEN_AI_OPERATION_INVOKE_AGENT: semconv.GEN_AI_AGENT_NAME,
    semconv.GEN_AI_OPERATION_CHAT: semconv.GEN_AI_REQUEST_MODEL,
}


def bound_span_name(name: str) -> str | None:
    """The span name with its name part bounded, or None when it is no `{operation} {name}` span name."""
    operation, sep, rest = name.partition(" ")
    key = _SPAN_NAME_KEYS.get(operation)
    if not sep or key is None:
        return None
    return f"{operation} {bound_value(key, rest)}"
