"""Secrets known only by the key in front of them: `password=...`, `"api_key": "..."`, `token: ...`,
`Authorization: Bearer ...`, `--password ...`, `<password>...</password>`, netrc `password ...`.

The scan is driven by occurrences of a few key words (pass, secret, token, key, auth, cred, cookie), so
ordinary text costs a few substring searches. Around each hit the whole key is read (at most 64 characters each
way), judged by `keys.is_sensitive_key`, and its value is read with a bounded anchored match, so the work
per hit is bounded and the whole scan is linear in the length of the text.

Whether a value found this way is a secret is decided in values.py.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.edits import Edits, lower_same_length
from otel_claude.redaction.keys import credential_word, is_header_key, is_placeholder, is_sensitive_key, key_words
from otel_claude.redaction.nested import MAX_PER_TEXT as MAX_NESTED
from otel_claude.redaction.nested import scrub_nested
from otel_claude.redaction.patterns import marker
from otel_claude.redaction.values import (
    ENV_VALUE_RE,
    MAX_VALUE,
    credential_value,
    env_style,
    is_secret_value,
    line_start,
    looks_like_literal_secret,
)

# Every key this module acts on holds one of these (and so does every subject of prose.py).
KEY_WORDS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie")
# Words of keys.CREDENTIAL_WORDS, as the scan finds them (`_iv`: "iv" alone is in too many words).
CREDENTIAL_KEY_WORDS: Final = ("salt", "_iv", "-iv", "hmac", "seed", "licen", "dsn", "pin", "otp", "mfa")
_SCAN_WORDS: Final = (*KEY_WORDS, *CREDENTIAL_KEY_WORDS)
# After a key word (in the lower-cased text): the rest of the key, then an optional closing quote and a
# separator. Possessive, so a long run of key characters with no separator after it fails at once.
_KEY_THEN_SEP_RE: Final = re.compile(r"(?P<rest>[a-z0-9_.-]{0,48}+)(?:\\?[\"'`])?[ \t]*[:=>?]")
_KEY_AND_SEP_RE: Final = re.compile(rf"(?:{'|'.join(_SCAN_WORDS)}){_KEY_THEN_SEP_RE.pattern}")
_MANY_KEY_WORDS: Final = 2000
_FLAG_RE: Final = re.compile(r"--[a-z][a-z0-9_.-]{0,63}+(?=[ \t]+[^\s-])")  # the key words are checked after
_NETRC_RE: Final = re.compile(r"pass(?:word(?<=\bpassword)|wd(?<=\bpasswd))(?=[ \t]+\S)")
_KEY_LEFT_RE: Final = re.compile(r"[A-Za-z0-9_.-]*\Z")  # searched with endpos: the run ending at a hit
_MAX_CANDIDATES: Final = 5_000  # about 50 ms of careful work; past it, text built to be slow
_COARSE_RE: Final = re.compile(
    r"(?i)((?:pass|pwd|secret|token|key|auth|cred|cookie)[\w.-]{0,48}(?:\\?[\"'`])?[ \t]*[:=][ \t]*[\"'`]?)"
    r"[^\s\"'`,;&]{3,}"
)
_MAX_KEY: Final = 64

_SEP_RE: Final = re.compile(r"(?P<kq>\\?[\"'`])?(?P<sp1>[ \t]*)(?P<sep>:=|=>|\?=|==|=|::|:|>)?(?P<sp2>[ \t]*)")
_VALUE_RE: Final = re.compile(
    r"""(?:[rRbBuUfF]{1,2}(?=["']))?
    (?:"(?P<dq>[^"\\\n]*(?:\\.[^"\\\n]*)*)"
     |'(?P<sq>[^'\\\n]*(?:\\.[^'\\\n]*)*)'
     |`(?P<bq>[^`\\\n]*(?:\\.[^`\\\n]*)*)`
     |\\"(?P<eq>[^"\n]*?)\\"
     |(?P<uv>[^\s"'`,;&})\]<\\]+)
    )""",
    re.VERBOSE,
)
_COOKIE_RE: Final = re.compile(r"\s*[A-Za-z0-9_.!#$%&'*+^`|~-]+=")
# What stands between netrc's `machine`/`default` and a `password` key; matched once, from the last of them.
_NETRC_BEFORE_RE: Final = re.compile(
    r"(?:machine[ \t]+\S++(?:\s++(?:login|account|port)[ \t]+\S++)*+|default(?:\s++(?:login|account)[ \t]+\S++)++)"
    r"\s++\Z"
)
_REST_OF_LINE_RE: Final = re.compile(r"[^\n\r\"'`\\]{1,4096}")
_SCHEME_RE: Final = re.compile(
    r"(?i)(?:bearer|basic|token|digest|bot|oauth|negotiate|ntlm|apikey|api-key|sso-key|ssws|splunk|dsn|key)[ \t]+"
)


def _candidates(low: str) -> list[tuple[int, int]]:
    """(key word position, end of the key) for every key word followed by a separator, in text order."""
    found: list[tuple[int, int]] = []
    if sum(low.count(word) for word in _SCAN_WORDS) < _MANY_KEY_WORDS:
        # One substring search per key word (C speed; a regex alternation of them is several times slower),
        # then an anchored match that the rest of the key and a separator follow.
        for word in _SCAN_WORDS:
            i = low.find(word)
            while i >= 0:
                m = _KEY_THEN_SEP_RE.match(low, i + len(word))
                if m is not None:
                    found.append((i, m.end("rest")))
                i = low.find(word, i + len(word))
    else:  # so many key words that a Python step for each would cost more than the slower regex scan
        found.extend((m.start(), m.end("rest")) for m in _KEY_AND_SEP_RE.finditer(low))
    if "--" in low:  # --password value
        found.extend((m.start(), m.end()) for m in _FLAG_RE.finditer(low))
    if "machine" in low or "default" in low:  # netrc: machine host login user password value
        found.extend((m.start(), m.end()) for m in _NETRC_RE.finditer(low))
    found.sort()
    return found


def scrub_key_values(text: str, names: list[str], low: str | None = None) -> str:
    """Redact values that stand after a sensitive key; append the names of what fired to `names`.

    `low` is `text` lower-cased with the same length, when the caller has it already.
    """
    if low is None:
        low = lower_same_length(text)
    candidates = _candidates(low)
    if not candidates:
        return text
    edits = Edits()
    pos = 0
    for count, (hit, ke) in enumerate(candidates):
        if hit < pos:
            continue
        if count >= _MAX_CANDIDATES:
            # Only text built to be slow gets here; the rest of it gets a coarse, C-speed pass instead.
            return _coarse_rest(text, edits, pos, names)
        left = _KEY_LEFT_RE.search(text, max(0, hit - _MAX_KEY), hit)
        ks = left.start() if left is not None else hit
        if ks > 0 and text[ks - 1] == "\\" and text[ks] in "nrt" and ks < hit:
            ks += 1  # `\nSet-Cookie:` in an escaped string: the key starts after the escape
        pos = ke
        while ke > ks and text[ke - 1] in ".-":  # "the token." ends a sentence; it is no key "token."
            ke -= 1
        key = text[ks:ke].lstrip("-.")
        if not key:
            continue
        word = None if is_sensitive_key(key) else credential_word(key)
        if word is None and not is_sensitive_key(key):
            continue
        end = _scrub_one(text, ks, ke, key, edits, word)
        pos = max(pos, end)
    names.extend(edits.names)
    return edits.apply(text)


def _coarse_rest(text: str, edits: Edits, pos: int, names: list[str]) -> str:
    head = edits.apply(text[:pos])
    names.extend(edits.names)
    found: list[str] = []

    def replace(m: re.Match[str]) -> str:
        found.append("generic_secret")
        return m.group(1) + marker("generic_secret")

    rest = _COARSE_RE.sub(replace, text[pos:])
    names.extend(found)
    return head + rest


def _scrub_one(text: str, ks: int, ke: int, key: str, edits: Edits, credential: str | None = None) -> int:
    """Read the separator and value after the key at [ks, ke); redact the value if it is secret.

    Returns the position the scan may resume from.
    """
    sep_m = _SEP_RE.match(text, ke, min(len(text), ke + 16))
    if sep_m is None:
        return ke
    sep = sep_m.group("sep")
    spaced = bool(sep_m.group("sp1") or sep_m.group("sp2"))
    v0 = sep_m.end()
    if sep is None:
        # Whitespace only: `--password value` and netrc's `password value`.
        if not spaced or not _whitespace_separator_allowed(text, ks, key):
            return ke
    elif sep in ("==", "::") or (sep == ":" and text.startswith("//", v0)):
        return ke  # a comparison, a C++/Ruby scope, or a URL scheme
    elif sep == ">":
        return _scrub_xml(text, ks, key, v0, edits)
    if sep == ":" and credential is None and text[v0 : v0 + 1] in ("{", "[") and edits.nested < MAX_NESTED:
        edits.nested += 1
        end = scrub_nested(text, v0, edits)  # "secret": {"value": ...} inside a text
        if end is not None:
            return end
    header = sep == ":" and is_header_key(key)  # HTTP syntax: `Authorization: ...`, `Cookie: ...`
    if header and text[v0 : v0 + 1] not in ('"', "'", "`", "\\"):
        m = _REST_OF_LINE_RE.match(text, v0)
        if m is None:
            return v0
        value_start, value_end, quoted = v0, len(m.group(0).rstrip(" \t,;")) + v0, False
    elif sep == "=" and not spaced and text[v0 : v0 + 1] not in ('"', "'", "`", "\\") and env_style(text, ks, key, v0):
        # A .env or shell assignment's value is a literal up to the next blank, brackets and all.
        em = ENV_VALUE_RE.match(text, v0, min(len(text), v0 + MAX_VALUE))
        if em is None:
            return v0
        value_start, value_end, quoted = v0, em.end(), False
    else:
        vm = _VALUE_RE.match(text, v0, min(len(text), v0 + MAX_VALUE))
        if vm is None:
            return v0
        group = vm.lastgroup or "uv"
        value_start, value_end = vm.span(group)
        quoted = group != "uv"
        if sep is None and not quoted:
            # `--pass password="x"`: a flag's value is the whole shell word, quoted parts and all; stopping at the
            # quote left "x" behind, and the key inside the value was never looked at.
            value_end = _shell_word_end(text, value_end, min(len(text), v0 + MAX_VALUE))
    if credential is not None:  # SIGNING_SALT=..., "license": "...": the value must look like a secret
        if credential_value(credential, text[value_start:value_end]):
            edits.add(value_start, value_end, "credential_assignment")
    elif header:
        _scrub_header(text, key, value_start, value_end, edits)
    elif is_secret_value(text, ks, key, text[value_start:value_end], sep, spaced, quoted, value_end):
        edits.add(value_start, value_end, _name_for(text, ks, key, sep, spaced))
    return value_end


_WORD_PART_RE: Final = re.compile(r""""[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\n]*'|[^\s"'`,;&})\]<\\]+""")


def _shell_word_end(text: str, end: int, limit: int) -> int:
    """Where the shell word that runs up to `end` really ends: quoted and unquoted parts that follow it with no
    blank between (bounded by `limit`, so the scan stays linear)."""
    while end < limit:
        part = _WORD_PART_RE.match(text, end, limit)
        if part is None or part.end() == end:
            return end
        end = part.end()
    return end


def _scrub_header(text: str, key: str, start: int, end: int, edits: Edits) -> None:
    value = text[start:end]
    if key_words(key)[-1] in ("cookie", "cookies"):
        # `Cookie: a=1; b=2`, not "the Cookie: header is ..."
        if _COOKIE_RE.match(value) and not is_placeholder(value) and _holds_secret_cookie(value):
            edits.add(start, end, "cookie")
        return
    scheme = _SCHEME_RE.match(value)
    if scheme is not None:
        credential = value[scheme.end() :]
        if not is_placeholder(credential):
            word = scheme.group(0).strip().lower()
            name = {"bearer": "bearer_token", "basic": "basic_auth"}.get(word, "authorization_header")
            edits.add(start + scheme.end(), end, name)
        return
    if " " not in value.strip() and len(value.strip()) >= 8 and not is_placeholder(value):
        edits.add(start, end, "authorization_header")


def _holds_secret_cookie(value: str) -> bool:
    """`session=8f2kQ...` holds one; the documentation's `fig=newton; Path=/` does not."""
    for pair in value.split(";"):
        _, _, cookie = pair.partition("=")
        cookie = cookie.strip().strip('"')
        if len(cookie) >= 16 or looks_like_literal_secret(cookie):
            return True
    return False


def _whitespace_separator_allowed(text: str, ks: int, key: str) -> bool:
    if text.startswith("--", ks):
        return True
    if key.lower() in ("password", "passwd"):
        lo = max(0, ks - 512)
        start = max(text.rfind("machine", lo, ks), text.rfind("default", lo, ks))
        return start >= 0 and _NETRC_BEFORE_RE.match(text, start, ks) is not None
    return False


def _scrub_xml(text: str, ks: int, key: str, v0: int, edits: Edits) -> int:
    # <password>value</password>: only when the key really opens an element.
    if ks == 0 or text[ks - 1] != "<":
        return v0
    close = text.find("</", v0, v0 + 1024)
    if close < 0:
        return v0
    value = text[v0:close]
    if "<" in value or "\n" in value.strip() or is_placeholder(value):
        return v0
    edits.add(v0, close, "generic_secret")
    return close


def _name_for(text: str, ks: int, key: str, sep: str | None, spaced: bool) -> str:
    words = key_words(key)
    if "aws" in words and ("secret" in words or "session" in words):
        return "aws_secret_access_key"
    if "".join(words) in ("accountkey", "sharedaccesskey"):
        return "azure_storage_key"
    if sep == "=" and not spaced and line_start(text, ks):
        return "env_assignment"
    return "generic_secret"
