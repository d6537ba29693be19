"""Deterministic trace and span ids derived from Claude Code's own ids.

A record exported twice (after a crash, before the spool was released) must yield the same span, not a second
one, so every id is a hash of the Claude Code ids that identify the thing the span stands for.
"""

from __future__ import annotations

import contextvars
import hashlib

_SEPARATOR = "\x1f"


def _digest(parts: tuple[str, ...]) -> bytes:
    return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8", "surrogatepass")).digest()


def trace_id_for(*parts: str) -> int:
    """A 128-bit trace id from the given identifying parts (never the invalid id 0)."""
    return int.from_bytes(_digest(("trace", *parts))[:16], "big") or 1


def span_id_for(*parts: str) -> int:
    """A 64-bit span id from the given identifying parts (never the invalid id 0)."""
    return int.from_bytes(_digest(("span", *parts))[:8], "big") or 1


_next_ids: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("otel_claude_next_ids", default=None)


def choose_ids(trace_id: int, span_id: int) -> contextvars.Token[tuple[int, int] | None]:
    """Makes the next span started in this context take these ids (export/id_generator.py); pass the token to
    `release_ids`."""
    return _next_ids.set((trace_id, span_id))


def chosen_ids() -> tuple[int, int] | None:
    return _next_ids.get()


def release_ids(token: contextvars.Token[tuple[int, int] | None]) -> None:
    _next_ids.reset(token)
