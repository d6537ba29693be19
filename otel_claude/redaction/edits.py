"""Replacements collected during one scan of a text, and the lower-casing the scans share."""

from __future__ import annotations

from typing import Final

from otel_claude.redaction.patterns import marker

_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def lower_same_length(text: str) -> str:
    """`text.lower()`, unless that changes the length (a few non-ASCII letters): then ASCII letters only.

    The scans search the lower-cased copy and edit the original, so every position must mean the same in both.
    """
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


class Edits:
    """Replacements of spans of one text by markers, in text order (they never overlap)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, str]] = []
        self.names: list[str] = []
        self.nested = 0  # JSON values read by nested.py in this text (bounded, see there)

    def add(self, start: int, end: int, name: str) -> None:
        self.spans.append((start, end, marker(name)))
        self.names.append(name)

    def apply(self, text: str) -> str:
        if not self.spans:
            return text
        parts: list[str] = []
        pos = 0
        for start, end, repl in self.spans:
            parts.append(text[pos:start])
            parts.append(repl)
            pos = end
        parts.append(text[pos:])
        return "".join(parts)
