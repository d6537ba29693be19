"""Secrets known only by the key in front of them: `password=...`, `"api_key": "..."`, `token: ...`,
`Authorization: Bearer ...`, `--password ...`, `<password>...</password>`, netrc `password ...`.

The scan is driven by occurrences of a few key words (pass, secret, token, key, auth, cred, cookie), so
ordinary text costs a few substring searches. Around each hit the whole key is read (at most 64 characters each
way), judged by `keys.is_sensitive_key`, and its value is read with a bounded anchored match, so the work
per hit is bounded and the whole scan is linear in the length of the text.

Whether a value is redacted depends on its form and on the style of the assignment: a quoted literal is
redacted unless it is a placeholder; an unquoted word is redacted in env, query and config styles
(`KEY=value`, `?token=...`, a YAML line `password: value`), but in code (`token = get_token()`,
`password: str`, `f(api_key=key)`) only when it looks like a literal secret rather than a name.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.keys import is_header_key, is_placeholder, is_sensitive_key, key_words
from otel_claude.redaction.patterns import marker

_KEY_WORDS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie")
# After a key word (in the lower-cased text): the rest of the key, then an optional closing quote and a
# separator. Trailing dots and dashes are not part of the key ("the token." ends a sentence).
_KEY_THEN_SEP_RE: Final = re.compile(r"(?P<rest>(?:[a-z0-9_.-]{0,48}[a-z0-9_])?)(?:\\?[\"'`])?[ \t]*[:=>?]")
_FLAG_RE: Final = re.compile(
    r"--[a-z0-9_.-]{0,40}(?:pass|pwd|secret|token|key|auth|cred|cookie)[a-z0-9_.-]{0,40}(?=[ \t]+[^\s-])"
)
_NETRC_RE: Final = re.compile(r"\bpass(?:wor)?d(?=[ \t]+\S)")
_PROSE_WORDS: Final = ("pass", "pwd", "secret", "token", "key")
_PROSE_RE: Final = re.compile(
    r"\b(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[ _-]?key|access[ _-]?key)s?[ \t]+(?:is|was)[ \t]+"
    r"(?:now[ \t]+)?(?:set[ \t]+to[ \t]+)?"
)
_PROSE_VALUE_RE: Final = re.compile(r"[\"'`]?(?P<v>[^\s\"'`]{6,256})")
_KEY_LEFT_RE: Final = re.compile(r"[A-Za-z0-9_.-]*$")  # searched with endpos: the run ending at a hit
_MAX_CANDIDATES: Final = 20_000
_COARSE_RE: Final = re.compile(
    r"(?i)((?:pass|pwd|secret|token|key|auth|cred|cookie)[\w.-]{0,48}(?:\\?[\"'`])?[ \t]*[:=][ \t]*[\"'`]?)"
    r"[^\s\"'`,;&]{3,}"
)
_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_MAX_KEY: Final = 64
_MAX_VALUE: Final = 8192

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
_REST_OF_LINE_RE: Final = re.compile(r"[^\n\r\"'`\\]{1,4096}")
_SCHEME_RE: Final = re.compile(
    r"(?i)(?:bearer|basic|token|digest|bot|oauth|negotiate|ntlm|apikey|api-key|sso-key|ssws|splunk|dsn|key)[ \t]+"
)
_DOTTED_RE: Final = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$")
_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TYPE_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_LINE_START_RE: Final = re.compile(
    r"^[ \t]*(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+|declare[ \t]+-x[ \t]+|ENV[ \t]+|ARG[ \t]+)?[\"']?$"
)


class _Edits:
    """Replacements collected during one scan, applied at the end (they never overlap)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, str]] = []
        self.names: list[str] = []

    def add(self, start: int, end: int, name: str) -> None:
        self.spans.append((start, end, marker(name)))
        self.names.append(name)

    def apply(self, text: str) -> str:
        parts: list[str] = []
        pos = 0
        for start, end, repl in self.spans:
            parts.append(text[pos:start])
            parts.append(repl)
            pos = end
        parts.append(text[pos:])
        return "".join(parts)


def _candidates(low: str) -> list[tuple[int, int]]:
    """(key word position, end of the key) for every key word followed by a separator, in text order."""
    found: list[tuple[int, int]] = []
    # One substring search per key word (C speed; a regex alternation of them is ten times slower), then an
    # anchored match that the rest of the key and a separator follow.
    for word in _KEY_WORDS:
        i = low.find(word)
        while i >= 0:
            m = _KEY_THEN_SEP_RE.match(low, i + len(word))
            if m is not None:
                found.append((i, m.end("rest")))
            i = low.find(word, i + len(word))
    if "--" in low:  # --password value
        found.extend((m.start(), m.end()) for m in _FLAG_RE.finditer(low))
    if "machine" in low or "login" in low:  # netrc: machine host login user password value
        found.extend((m.start(), m.end()) for m in _NETRC_RE.finditer(low))
    found.sort()
    return found


def scrub_key_values(text: str, names: list[str], low: str | None = None) -> str:
    """Redact values that stand after a sensitive key; append the names of what fired to `names`.

    `low` is `text` lower-cased with the same length, when the caller has it already.
    """
    if low is None:
        low = text.lower()
        if len(low) != len(text):
            low = text.translate(_ASCII_LOWER)
    candidates = _candidates(low)
    if not candidates:
        return text
    edits = _Edits()
    pos = 0
    for count, (hit, ke) in enumerate(candidates):
        if hit < pos:
            continue
        if count >= _MAX_CANDIDATES:
            # Only text built to be slow gets here; the rest of it gets a coarse, C-speed pass instead.
            return _coarse_rest(text, edits, pos, names)
        left = _KEY_LEFT_RE.search(text, max(0, hit - _MAX_KEY), hit)
        ks = left.start() if left is not None else hit
        pos = ke
        key = text[ks:ke].lstrip("-.")
        if not key or not is_sensitive_key(key):
            continue
        end = _scrub_one(text, ks, ke, key, edits)
        pos = max(pos, end)
    names.extend(edits.names)
    return edits.apply(text) if edits.spans else text


def scrub_prose(text: str, names: list[str], low: str | None = None) -> str:
    """`the staging db password is Hunter2...`: a secret-looking word after `<secret word> is|was`."""
    if low is None:
        low = text.lower()
        if len(low) != len(text):
            low = text.translate(_ASCII_LOWER)
    if (" is " not in low and " was " not in low) or not any(word in low for word in _PROSE_WORDS):
        return text
    edits = _Edits()
    for m in _PROSE_RE.finditer(low):
        vm = _PROSE_VALUE_RE.match(text, m.end())
        if vm is None:
            continue
        value = vm.group("v").rstrip(".,;:!?)]}")
        if value.startswith("[REDACTED:") or is_placeholder(value) or not _looks_like_literal_secret(value):
            continue
        edits.add(vm.start("v"), vm.start("v") + len(value), "generic_secret")
    names.extend(edits.names)
    return edits.apply(text) if edits.spans else text


def _coarse_rest(text: str, edits: _Edits, pos: int, names: list[str]) -> str:
    head = edits.apply(text[:pos]) if edits.spans else text[:pos]
    names.extend(edits.names)
    found: list[str] = []

    def replace(m: re.Match[str]) -> str:
        found.append("generic_secret")
        return m.group(1) + marker("generic_secret")

    rest = _COARSE_RE.sub(replace, text[pos:])
    names.extend(found)
    return head + rest


def _scrub_one(text: str, ks: int, ke: int, key: str, edits: _Edits) -> int:
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
    header = is_header_key(key)
    if header and text[v0 : v0 + 1] not in ('"', "'", "`", "\\"):
        m = _REST_OF_LINE_RE.match(text, v0)
        if m is None:
            return v0
        value_start, value_end, quoted = v0, len(m.group(0).rstrip(" \t,;")) + v0, False
    else:
        vm = _VALUE_RE.match(text, v0, min(len(text), v0 + _MAX_VALUE))
        if vm is None:
            return v0
        group = vm.lastgroup or "uv"
        value_start, value_end = vm.span(group)
        quoted = group != "uv"
    value = text[value_start:value_end]
    if header:
        scheme = _SCHEME_RE.match(value)
        if scheme is not None:
            value_start += scheme.end()
            value = value[scheme.end() :]
    if not _is_secret_value(text, ks, ke, key, value, sep, spaced, quoted, header, value_end):
        return value_end
    edits.add(value_start, value_end, _name_for(text, ks, key, value_start, value, sep, spaced, header))
    return value_end


def _whitespace_separator_allowed(text: str, ks: int, key: str) -> bool:
    if text.startswith("--", ks):
        return True
    if key.lower() in ("password", "passwd"):
        before = text[max(0, ks - 512) : ks]
        return "machine" in before or "login" in before
    return False


def _scrub_xml(text: str, ks: int, key: str, v0: int, edits: _Edits) -> int:
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


def _is_secret_value(
    text: str, ks: int, ke: int, key: str, value: str, sep: str | None, spaced: bool, quoted: bool, header: bool,
    value_end: int,
) -> bool:
    if is_placeholder(value):
        return False
    if header:
        return True
    if names_a_key(value, key):
        return False
    if quoted:
        return True
    if value[0] in "-([{/~" or any(c in value for c in "([{") or value.startswith("./") or _DOTTED_RE.match(value):
        return False
    if sep is None:  # --flag value, netrc
        return True
    literal_looking = _looks_like_literal_secret(value)
    if sep == "=" and not spaced:
        # KEY=value: env files, env dumps, query strings, DSNs, CLI flags; but also f(api_key=key) in code.
        if literal_looking or key.isupper() or _line_start(text, ks):
            return True
        return ks > 0 and text[ks - 1] in "?&;"
    if sep == ":" and _line_start(text, ks) and not text.startswith(",", value_end):
        # A config line (`password: value`); a Python annotation or TypeScript field names a type.
        rest = text[value_end : value_end + 64].split("\n", 1)[0].strip()
        if not rest or rest.startswith("#"):
            return not _TYPE_NAME_RE.match(value) or literal_looking
    return literal_looking


def names_a_key(value: str, key: str) -> bool:
    """`password=password`, `token: GITHUB_TOKEN`, `api_key_header = "X-API-Key"`: a name, not a secret."""
    if not _IDENTIFIER_RE.match(value):
        return False
    return value.lower() == key.lower() or is_sensitive_key(value) or value.lower() in key.lower()


def _looks_like_literal_secret(value: str) -> bool:
    if len(value) < 6:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if has_digit and has_alpha:
        return True
    other = any(not c.isalnum() and c != "_" for c in value)
    return other and (has_digit or has_alpha) and len(value) >= 8


def _line_start(text: str, ks: int) -> bool:
    nl = text.rfind("\n", max(0, ks - 256), ks)
    if nl < 0 and ks > 256:
        return False
    return _LINE_START_RE.match(text, nl + 1, ks) is not None


def _name_for(text: str, ks: int, key: str, value_start: int, value: str, sep: str | None, spaced: bool,
              header: bool) -> str:
    words = key_words(key)
    if header:
        if words[-1] in ("cookie", "cookies"):
            return "cookie"
        scheme = text[max(0, value_start - 8) : value_start].strip().lower()
        if scheme.endswith("bearer"):
            return "bearer_token"
        if scheme.endswith("basic"):
            return "basic_auth"
        return "authorization_header"
    if "aws" in words and ("secret" in words or "session" in words):
        return "aws_secret_access_key"
    joined = "".join(words)
    if joined in ("accountkey", "sharedaccesskey"):
        return "azure_storage_key"
    if sep == "=" and not spaced and _line_start(text, ks):
        return "env_assignment"
    return "generic_secret"
