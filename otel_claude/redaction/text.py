"""Scrub secrets out of one text: private key blocks, token formats, URL passwords, then key/value secrets.

Each stage sees the output of the one before, so a secret replaced by a marker is not matched twice and
a marker is never mistaken for a value. Every stage is linear in the length of the text (see patterns.py
and kv.py), and each is skipped by a cheap test when its trigger is absent.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.command_lines import COMMAND_LINE_COMPILED
from otel_claude.redaction.edits import lower_same_length
from otel_claude.redaction.keys import is_placeholder
from otel_claude.redaction.kv import CREDENTIAL_KEY_WORDS, KEY_WORDS, scrub_key_values
from otel_claude.redaction.patterns import (
    CONTEXT_COMPILED,
    DB_SCHEMES,
    PRIVATE_KEY_BEGIN_RE,
    PRIVATE_KEY_BODY_RE,
    PRIVATE_KEY_END_RE,
    PRIVATE_KEY_MAX_SPAN,
    TOKEN_COMPILED,
    TOKEN_RUN_RE,
    URL_CREDENTIALS_RE,
    URL_SCHEME_RE,
    SecretPattern,
    marker,
    starts_with_literal,
)
from otel_claude.redaction.prose import scrub_prose
from otel_claude.redaction.random_tokens import MIN_LENGTH as _MIN_RANDOM_LENGTH
from otel_claude.redaction.random_tokens import scrub_random_tokens

CompiledPatterns = tuple[tuple[SecretPattern, re.Pattern[str]], ...]

# Shorter texts cannot hold any secret we recognise (the shortest, `pw=abc`, has six characters); texts
# shorter than the shortest token format skip the token patterns.
_MIN_LENGTH: Final = 6
_MIN_TOKEN_LENGTH: Final = 14
_GATE_LIMIT: Final = 4096
_PORT_AND_PATH_RE: Final = re.compile(r"\d{1,5}(?:/|$)")  # https://host:443/@scope/pkg: a port, then a path


def _needles(patterns: CompiledPatterns) -> frozenset[str]:
    return frozenset(needle for pattern, _ in patterns for needle in pattern.needles)


_TOKEN_NEEDLES: Final = _needles(TOKEN_COMPILED)
_CONTEXT_NEEDLES: Final = _needles((*CONTEXT_COMPILED, *COMMAND_LINE_COMPILED))
# Every stage but the token one needs one of these (lower case) to act; the token stage needs a token run.
# A needle that holds another (`sshpass` holds `pass`) adds nothing, so only the shortest are searched, by one
# regex: cheaper than one substring search per needle once there are dozens of them.
_NEEDLES: Final = {"private key", "://", *_CONTEXT_NEEDLES, *KEY_WORDS, *CREDENTIAL_KEY_WORDS}
_TRIGGERS: Final = tuple(sorted(n for n in _NEEDLES if not any(o != n and o in n for o in _NEEDLES)))
_TRIGGER_RE: Final = re.compile("|".join(re.escape(n) for n in _TRIGGERS))


def _has_trigger(low: str) -> bool:
    # One regex is cheaper on a short text; on a long one, one C-speed substring search per needle is.
    if len(low) < 1024:
        return _TRIGGER_RE.search(low) is not None
    return any(needle in low for needle in _TRIGGERS)


def scrub_text(text: str, extra: CompiledPatterns = ()) -> tuple[str, list[str]]:
    """Return `text` with secrets replaced by `[REDACTED:<name>]`, and the names that fired (in order)."""
    names: list[str] = []
    if len(text) < _MIN_LENGTH:
        return text, names
    low = lower_same_length(text)
    if not _has_trigger(low) and TOKEN_RUN_RE.search(text) is None and not extra:
        return text, names  # the common case for short strings: nothing any stage could act on
    out = text
    if "private key" in low:
        out = _scrub_private_keys(out, names)
    if len(out) >= _MIN_TOKEN_LENGTH:
        out = _scrub_tokens(out, names)
    for pattern, regex in (*CONTEXT_COMPILED, *COMMAND_LINE_COMPILED, *extra):
        if any(needle in low for needle in pattern.needles):
            out = scrub_pattern(out, pattern, regex, names)
    if "://" in low:
        out = _scrub_url_credentials(out, names)
    out = scrub_key_values(out, names, None if names else low)
    out = scrub_prose(out, names, None if names else low)
    if len(out) >= _MIN_RANDOM_LENGTH:
        out = scrub_random_tokens(out, names)  # last: what no format, key or phrase named
    return out, names


def _scrub_tokens(text: str, names: list[str]) -> str:
    """Apply the token formats to the runs of token characters only, then put the text back together.

    In ordinary prose and code such runs are a small part of the text, so the fifty-odd pattern searches
    cover much less; a short string without a 14-character run costs one regex search.
    """
    spans = [m.span() for m in TOKEN_RUN_RE.finditer(text)]
    if not spans:
        return text
    joined = "\n".join([text[start:end] for start, end in spans])  # "\n" is no token character
    low = joined.lower()  # the runs are ASCII, so lower() keeps every position
    before = len(names)
    if len(joined) > _GATE_LIMIT:
        # On a long text a needle search costs as much as the search of a pattern that starts with a
        # literal (the engine jumps between occurrences of it): those just run; the others are gated.
        for pattern, regex in TOKEN_COMPILED:
            if starts_with_literal(pattern) or any(needle in low for needle in pattern.needles):
                joined = scrub_pattern(joined, pattern, regex, names)
    else:
        present = {needle for needle in _TOKEN_NEEDLES if needle in low}
        if present:
            for pattern, regex in TOKEN_COMPILED:
                if not present.isdisjoint(pattern.needles):
                    joined = scrub_pattern(joined, pattern, regex, names)
    if len(names) == before:
        return text
    parts: list[str] = []
    pos = 0
    for (start, end), piece in zip(spans, joined.split("\n"), strict=True):  # markers hold no "\n" either
        parts.append(text[pos:start])
        parts.append(piece)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _scrub_private_keys(text: str, names: list[str]) -> str:
    # Procedural rather than one `BEGIN[\s\S]*?END` regex: a BEGIN with no END would make that regex scan
    # to the end of the text once per BEGIN. Here the END search only moves forward.
    parts: list[str] = []
    pos = 0
    end_m: re.Match[str] | None = None
    no_end_left = False
    while (begin := PRIVATE_KEY_BEGIN_RE.search(text, pos)) is not None:
        if not no_end_left and (end_m is None or end_m.start() < begin.end()):
            end_m = PRIVATE_KEY_END_RE.search(text, begin.end())
            no_end_left = end_m is None
        if end_m is not None and end_m.start() >= begin.end() and end_m.start() - begin.end() <= PRIVATE_KEY_MAX_SPAN:
            stop = end_m.end()
        else:  # truncated key: take the body that follows, as far as it looks like one
            body = PRIVATE_KEY_BODY_RE.match(text, begin.end(), min(len(text), begin.end() + PRIVATE_KEY_MAX_SPAN))
            stop = body.end() if body is not None else begin.end()
        parts.append(text[pos : begin.start()])
        parts.append(marker("private_key"))
        names.append("private_key")
        pos = stop
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def scrub_pattern(text: str, pattern: SecretPattern, regex: re.Pattern[str], names: list[str]) -> str:
    """Replace every match of one pattern (only its group `v`, when it has one)."""
    has_value_group = "v" in regex.groupindex
    validate = pattern.validate

    def replace(m: re.Match[str]) -> str:
        start, end = m.span("v") if has_value_group else m.span()
        if validate is not None and not validate(m.string[start:end]):
            return m.group(0)
        names.append(pattern.name)
        whole = m.group(0)
        offset = m.start()
        return whole[: start - offset] + marker(pattern.name) + whole[end - offset :]

    return regex.sub(replace, text)


def _scrub_url_credentials(text: str, names: list[str]) -> str:
    if "@" not in text:
        return text
    # The pattern reads up to 256 characters for the password at each "://"; it is tried only where an "@"
    # follows within that reach, so a text of many "://" and no "@" near them costs one find per "://".
    parts: list[str] = []
    last = 0
    pos = text.find("://")
    while pos >= 0:
        m = URL_CREDENTIALS_RE.match(text, pos) if text.find("@", pos, pos + 520) >= 0 else None
        if m is None:
            pos = text.find("://", pos + 3)
            continue
        password = m.group("v")
        if not (is_placeholder(password) or password.startswith(("{", "%")) or _PORT_AND_PATH_RE.match(password)):
            scheme_m = URL_SCHEME_RE.search(text, max(0, pos - 31), pos)
            scheme = scheme_m.group(1).lower() if scheme_m is not None else ""
            name = "db_connection_password" if scheme in DB_SCHEMES else "url_password"
            names.append(name)
            start, end = m.span("v")
            parts.extend((text[last:start], marker(name)))
            last = end
        pos = text.find("://", m.end())
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)
