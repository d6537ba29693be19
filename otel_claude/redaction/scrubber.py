"""Scrub attribute values: strings, bytes, sequences, mappings, and JSON held in strings.

A string that is a JSON document is parsed and scrubbed as a structure, so a secret under a key named
`password`, `api_key`, `authorization`... is removed whatever its form, then re-serialised; strings with
nothing to remove come back as the very same object, untouched. Values under allow-listed keys (ids,
model names, token counts) are never looked at.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from otel_claude.redaction.attribute_keys import (
    ID_ATTRIBUTE_KEYS,
    ID_SHAPE_RE,
    NAME_ATTRIBUTE_KEYS,
    SAFE_JSON_KEYS,
    is_safe_attribute_key,
)
from otel_claude.redaction.keys import GENERIC_VALUE_KEYS, credential_word, is_placeholder, is_sensitive_key
from otel_claude.redaction.names import bound_attribute
from otel_claude.redaction.patterns import SecretPattern, marker
from otel_claude.redaction.text import CompiledPatterns, scrub_text
from otel_claude.redaction.values import credential_value, names_a_key

logger = logging.getLogger(__name__)

T = TypeVar("T")

SENSITIVE_KEY: Final = "sensitive_key"
GCP_SERVICE_ACCOUNT: Final = "gcp_service_account"
SCRUB_FAILED: Final = "scrub_failed"
CREDENTIAL_ASSIGNMENT: Final = "credential_assignment"
UNSAFE_NAME: Final = "unsafe_name"  # a name attribute that did not look like a name, replaced by a bounded form
_MAX_DEPTH: Final = 48  # JSON nesting we recurse into; deeper documents are scrubbed as text
# The same short texts (tool and event names, field lists, paths, models) come back on every span: their result is
# remembered, for texts up to _CACHED_TEXT characters, _TEXT_CACHE_SIZE of them (about 2 MB at most).
_CACHED_TEXT: Final = 512
_TEXT_CACHE_SIZE: Final = 4096
# Whole attributes too (key and value: a name or an id is judged by its key), so a span's repeated session, model
# and tool attributes cost one lookup each; started over past _VERDICTS_SIZE. Keyed by type as well: True == 1.
_VERDICTS_SIZE: Final = 4096
_UNCHANGED: Final = object()


class _TooDeep(Exception):
    pass


@dataclass
class AttributesResult:
    """Scrubbed attributes, the keys whose values changed (or were dropped), and the pattern names that fired."""

    attributes: dict[str, Any]
    changed_keys: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


class Scrubber:
    """Removes secrets from telemetry values. Stateless and safe to share between threads."""

    def __init__(self, *, extra_patterns: Sequence[SecretPattern] = (), extra_safe_keys: Iterable[str] = ()) -> None:
        self._extra: CompiledPatterns = tuple((p, re.compile(p.regex)) for p in extra_patterns)
        self._extra_safe_keys = frozenset(extra_safe_keys)
        self._cached_text = functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)(self._scrub_text)
        # (key, type, value) -> (what the attribute became, or _UNCHANGED; the names that fired): see _verdict_key.
        self._verdicts: dict[tuple[str, type, object], tuple[object, tuple[str, ...]]] = {}

    # --- text -------------------------------------------------------------------------------------
    def scrub_text(self, text: str) -> tuple[str, list[str]]:
        """Scrub a plain text (no JSON parsing)."""
        if len(text) > _CACHED_TEXT:
            return self._scrub_text(text)
        out, names = self._cached_text(text)
        # Nothing found: the caller's own object, as uncached; else a copy of the names, which callers extend.
        return (out, list(names)) if names else (text, [])

    def _scrub_text(self, text: str) -> tuple[str, list[str]]:
        out, names = scrub_text(text, self._extra)
        return (out, names) if names else (text, names)

    def _scrub_string(self, text: str, depth: int) -> tuple[str, list[str]]:
        if _looks_like_json(text) and depth < _MAX_DEPTH:
            try:
                document = json.loads(text)
                names: list[str] = []
                scrubbed = self._scrub_json(document, depth + 1, names, sensitive=None)
            except (ValueError, RecursionError, _TooDeep):
                pass  # not JSON after all, or too deep: the text rules below still apply
            else:
                if not names:
                    return text, names
                return _dumps(scrubbed, text), names
        return self.scrub_text(text)

    # --- values -----------------------------------------------------------------------------------
    def scrub_value(self, value: T) -> tuple[T, list[str]]:
        """Scrub a str, bytes, sequence or mapping; other values are returned as they are.

        Returns the scrubbed value (the same object when nothing was found) and the names that fired.
        """
        names: list[str] = []
        result = self._scrub_any(value, 0, names)
        return (result if names else value), names

    def _scrub_any(self, value: Any, depth: int, names: list[str]) -> Any:
        if isinstance(value, str):
            out, found = self._scrub_string(value, depth)
            names.extend(found)
            return out
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("utf-8", "surrogateescape")
            out, found = self._scrub_string(text, depth)
            if not found:
                return value
            names.extend(found)
            return out.encode("utf-8", "surrogateescape")
        if depth >= _MAX_DEPTH:
            raise _TooDeep
        if isinstance(value, Mapping):
            return self._scrub_json(value, depth + 1, names, sensitive=None)
        if isinstance(value, list | tuple):
            items = [self._scrub_any(v, depth + 1, names) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
        return value

    def _scrub_json(self, value: Any, depth: int, names: list[str], sensitive: str | None) -> Any:
        """Recurse into parsed JSON. `sensitive` is the redaction name when an enclosing key named a secret."""
        if depth >= _MAX_DEPTH:
            raise _TooDeep
        if isinstance(value, str):
            if sensitive is not None:
                if is_placeholder(value):
                    return value
                names.append(sensitive)
                return marker(sensitive)
            out, found = self._scrub_string(value, depth)
            names.extend(found)
            return out
        if isinstance(value, Mapping):
            # Under a secret key, an object's generic members (value, data, ...) are the secret; the rest
            # ({"auth": {"type": "oauth", "tokenUrl": ...}}) is judged key by key.
            service_account = value.get("type") == "service_account"
            result: dict[Any, Any] = {}
            for k, v in value.items():
                key = str(k)
                child = sensitive if sensitive is not None and key.lower() in GENERIC_VALUE_KEYS else None
                if child is None:
                    if (key in SAFE_JSON_KEYS and _looks_like_id(v)) or key in self._extra_safe_keys:
                        result[k] = v
                        continue
                    if is_sensitive_key(key) and not (isinstance(v, str) and names_a_key(v, key)):
                        child = GCP_SERVICE_ACCOUNT if service_account else SENSITIVE_KEY
                    elif isinstance(v, str) and (word := credential_word(key)) and credential_value(word, v):
                        child = CREDENTIAL_ASSIGNMENT  # "license": "P0DC4-...", not "license": "MIT"
                result[k] = self._scrub_json(v, depth + 1, names, child)
            return result
        if isinstance(value, list | tuple):
            return [self._scrub_json(v, depth + 1, names, sensitive) for v in value]
        return value

    # --- attribute mappings -----------------------------------------------------------------------
    def scrub_attributes(self, attributes: Mapping[str, Any] | None) -> AttributesResult:
        """Scrub span, event or link attributes. An attribute that cannot be scrubbed is dropped, never kept."""
        result = AttributesResult(attributes={})
        if not attributes:
            return result
        verdicts = self._verdicts
        kept = result.attributes
        for key, value in attributes.items():
            # This runs for every attribute of every span. A number is kept as it is under any key (_scrub_attribute
            # changes strings and sequences only; tests/redaction/test_numbers_kept.py holds it), and a verdict for
            # each distinct count or cost would push the texts' out of the cache.
            kind = type(value)
            if kind is int or kind is float or kind is bool:
                kept[key] = value
                continue
            if kind is str and len(value) <= _CACHED_TEXT:  # _verdict_key's commonest case, inline
                probe: tuple[str, type, object] | None = (key, kind, value)
            else:
                probe = _verdict_key(key, value)
            known = verdicts.get(probe) if probe is not None else None
            if known is not None:
                if known[0] is _UNCHANGED:  # most attributes: kept as they are, nothing to note
                    kept[key] = value
                    continue
                new, names = known[0], list(known[1])
            else:
                try:
                    new, names = self._scrub_attribute(key, value)
                except Exception:  # a bug here must not leak the value it failed on: drop it
                    logger.warning("redaction failed on attribute %s; the attribute was dropped", key, exc_info=True)
                    result.changed_keys.append(key)
                    result.names.append(SCRUB_FAILED)
                    continue
                if probe is not None:
                    if len(verdicts) >= _VERDICTS_SIZE:
                        verdicts.clear()
                    verdicts[probe] = (_UNCHANGED if new is value else new, tuple(names))
            result.attributes[key] = new
            if names:
                result.changed_keys.append(key)
                result.names.extend(names)
        return result

    def _scrub_attribute(self, key: str, value: Any) -> tuple[Any, list[str]]:
        if key in NAME_ATTRIBUTE_KEYS:
            new, changed = bound_attribute(key, value)
            return (new, [UNSAFE_NAME]) if changed else (value, [])
        if key in ID_ATTRIBUTE_KEYS and isinstance(value, str) and ID_SHAPE_RE.fullmatch(value) is None:
            return self.scrub_value(value)
        if is_safe_attribute_key(key) or key in self._extra_safe_keys:
            return value, []
        if is_sensitive_key(key):
            return self._redact_whole(value)
        return self.scrub_value(value)

    def _redact_whole(self, value: Any) -> tuple[Any, list[str]]:
        if isinstance(value, str):
            return (value, []) if is_placeholder(value) else (marker(SENSITIVE_KEY), [SENSITIVE_KEY])
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            names = [SENSITIVE_KEY for v in value if not is_placeholder(v)]
            if not names:
                return value, []
            return tuple(v if is_placeholder(v) else marker(SENSITIVE_KEY) for v in value), names
        return self.scrub_value(value)


# An id, a path or a name: what a safe JSON key holds. Anything else under such a key ("tool_name": "Bash\n...
# the password is ...") is scrubbed like any value.
_ID_RE: Final = re.compile(r"[\w./:@+\[\]~ -]{0,1024}")


def _looks_like_id(value: Any) -> bool:
    # A number, a flag or an id-shaped string; an object or a list under a safe key ("model": {...}) is
    # scrubbed like any other.
    if isinstance(value, str):
        return _ID_RE.fullmatch(value) is not None
    return value is None or isinstance(value, int | float | bool)


def _verdict_key(key: str, value: object) -> tuple[str, type, object] | None:
    """What an attribute's verdict is remembered under: scalars and short texts or lists of them, else None."""
    kind = type(value)  # exact types only: a subclass may compare equal and differ
    if isinstance(value, str):
        return (key, kind, value) if kind is str and len(value) <= _CACHED_TEXT else None
    if kind is int or kind is float or kind is bool:
        return (key, kind, value)
    if isinstance(value, tuple) and kind is tuple and len(value) <= 32:
        return (key, kind, value) if all(type(v) is str and len(v) <= 64 for v in value) else None
    return None


def _looks_like_json(text: str) -> bool:
    # Only the ends are looked at: cheap on a 10 MB string.
    head = text[:64].lstrip()
    tail = text[-64:].rstrip()
    return bool(head) and bool(tail) and ((head[0] == "{" and tail[-1] == "}") or (head[0] == "[" and tail[-1] == "]"))


def _dumps(document: Any, original: str) -> str:
    compact = '": ' not in original[:4096] and '", "' not in original[:4096]
    separators = (",", ":") if compact else (", ", ": ")
    out = json.dumps(document, ensure_ascii=False, separators=separators)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes cannot go out as UTF-8
        out = json.dumps(document, ensure_ascii=True, separators=separators)
    return out


DEFAULT_SCRUBBER: Final = Scrubber()


def scrub_value(value: T) -> tuple[T, list[str]]:
    """Scrub one value with the default scrubber; returns the value and the names of what was removed."""
    return DEFAULT_SCRUBBER.scrub_value(value)


def scrub_mapping(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Scrub attributes with the default scrubber; returns them and the keys whose values changed."""
    result = DEFAULT_SCRUBBER.scrub_attributes(attributes)
    return result.attributes, result.changed_keys
