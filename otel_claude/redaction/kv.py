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

KEY_WORDS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie")  # every trigger of kv and prose
# After a key word (in the lower-cased text): the rest of the key, then an optional closing quote and a
# separator. Trailing dots and dashes are not part of the key ("the token." ends a sentence).
_KEY_THEN_SEP_RE: Final = re.compile(r"(?P<rest>(?:[a-z0-9_.-]{0,48}[a-z0-9_])?)(?:\\?[\"'`])?[ \t]*[:=>?]")
_FLAG_RE: Final = re.compile(r"--[a-z][a-z0-9_.-]{0,63}+(?=[ \t]+[^\s-])")  # the key words are checked after
_NETRC_RE: Final = re.compile(r"pass(?:word(?<=\bpassword)|wd(?<=\bpasswd))(?=[ \t]+\S)")
_PROSE_SUBJECTS: Final = (
    "password", "passwords", "passwd", "passphrase", "pwd", "pass", "secret", "secrets", "token", "tokens", "api key",
    "api_key", "apikey", "api-key", "access key", "access_key",
)


def _prose_regex(verb: str) -> re.Pattern[str]:
    # Starts with the literal " is " (or " was "), so the engine jumps between those; which word stands
    # before it is checked with fixed-width lookbehinds, one per word.
    subjects = "|".join(rf"(?<=\b{re.escape(w)} {verb} )" for w in _PROSE_SUBJECTS)
    return re.compile(rf" {verb} (?:{subjects})(?:now )?(?:set to )?")


_PROSE_RES: Final = (_prose_regex("is"), _prose_regex("was"))
_PROSE_VALUE_RE: Final = re.compile(r"[\"'`]?(?P<v>[^\s\"'`]{6,256})")
_KEY_LEFT_RE: Final = re.compile(r"[A-Za-z0-9_.-]*\Z")  # searched with endpos: the run ending at a hit
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
_COOKIE_RE: Final = re.compile(r"\s*[A-Za-z0-9_.!#$%&'*+^`|~-]+=")
_NETRC_BEFORE_RE: Final = re.compile(
    r"\b(?:machine[ \t]+\S+(?:\s+(?:login|account|port)[ \t]+\S+)*|default(?:\s+(?:login|account)[ \t]+\S+)+)\s+\Z"
)
_REST_OF_LINE_RE: Final = re.compile(r"[^\n\r\"'`\\]{1,4096}")
_SCHEME_RE: Final = re.compile(
    r"(?i)(?:bearer|basic|token|digest|bot|oauth|negotiate|ntlm|apikey|api-key|sso-key|ssws|splunk|dsn|key)[ \t]+"
)
_DOTTED_RE: Final = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$")
_CALL_RE: Final = re.compile(r"^[A-Za-z_$][\w.$]*[(\[]")
_PATH_RE: Final = re.compile(r"^(?:~|\.{1,2})?/[A-Za-z0-9_.@%-]*(?:/[A-Za-z0-9_.@%-]*)*$")
# A name (api_key, GITHUB_TOKEN, hide_cookie2): digits come last, where a password mixes them in.
_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z_-]*[0-9]*$")
_TYPE_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_LINE_START_RE: Final = re.compile(
    r"[ \t]*(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+|declare[ \t]+-x[ \t]+|ENV[ \t]+|ARG[ \t]+)?[\"']?\Z"
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
    for word in KEY_WORDS:
        i = low.find(word)
        while i >= 0:
            m = _KEY_THEN_SEP_RE.match(low, i + len(word))
            if m is not None:
                found.append((i, m.end("rest")))
            i = low.find(word, i + len(word))
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
    if (" is " not in low and " was " not in low) or not any(word in low for word in KEY_WORDS):
        return text
    edits = _Edits()
    matches = sorted(m.end() for regex in _PROSE_RES for m in regex.finditer(low))
    for end in matches:
        vm = _PROSE_VALUE_RE.match(text, end)
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
    header = sep == ":" and is_header_key(key)  # HTTP syntax: `Authorization: ...`, `Cookie: ...`
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
    if header:
        _scrub_header(text, key, value_start, value_end, edits)
    elif _is_secret_value(text, ks, key, text[value_start:value_end], sep, spaced, quoted, value_end):
        edits.add(value_start, value_end, _name_for(text, ks, key, sep, spaced))
    return value_end


def _scrub_header(text: str, key: str, start: int, end: int, edits: _Edits) -> None:
    value = text[start:end]
    if key_words(key)[-1] in ("cookie", "cookies"):
        # `Cookie: a=1; b=2`, not "the Cookie: header is ..."
        if _COOKIE_RE.match(value) and not is_placeholder(value):
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


def _whitespace_separator_allowed(text: str, ks: int, key: str) -> bool:
    if text.startswith("--", ks):
        return True
    if key.lower() in ("password", "passwd"):
        return _NETRC_BEFORE_RE.search(text, max(0, ks - 512), ks) is not None
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
    text: str, ks: int, key: str, value: str, sep: str | None, spaced: bool, quoted: bool, value_end: int
) -> bool:
    if is_placeholder(value) or names_a_key(value, key):
        return False
    if quoted:
        return True
    after = text[value_end : value_end + 1]
    if _DOTTED_RE.match(value) or _is_path(value):
        return False
    if sep is None:  # --flag value, netrc
        return not _is_code(value, after)
    literal_looking = _looks_like_literal_secret(value)
    if sep == "=" and not spaced:
        # KEY=value: env files, env dumps, query strings, DSNs, CLI flags; but also f(api_key=key) in code.
        if _is_code(value, after):
            return False
        return literal_looking or key.isupper() or _line_start(text, ks) or (ks > 0 and text[ks - 1] in "?&;")
    # `key = value`, `key: value`: code or config. In code a value holding a call or an index is an
    # expression, and a literal secret is quoted (handled above).
    if any(c in value for c in "([{"):
        return False
    rest = text[value_end : value_end + 80].split("\n", 1)[0].strip()
    config_line = _line_start(text, ks) and (not rest or rest.startswith("#")) and after != ","
    if sep == ":":
        if config_line:  # YAML `password: value`; a Python annotation or TypeScript field names a type
            return literal_looking or not _TYPE_NAME_RE.match(value)
        return literal_looking  # "...my token: abc123def" in prose
    return config_line and literal_looking  # ini `password = value`; never `x = y` inside a line of code


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
    if len(value) >= 12 and value.isalpha():
        # Random letters switch case all the time; an identifier (getUserToken) only at word starts.
        upper = sum(c.isupper() for c in value)
        return 0.25 <= upper / len(value) <= 0.75
    other = any(not c.isalnum() and c != "_" for c in value)
    return other and (has_digit or has_alpha) and len(value) >= 8


def _is_code(value: str, after: str) -> bool:
    """An expression rather than a literal: a collection, a flag, a call or an index (`get_token()`,
    `tokens[0]`). A password may hold `(` too (`xo4(YGF...`), but then it does not end there."""
    if value[0] in "-([{":
        return True
    return _CALL_RE.match(value) is not None and (value[-1] in "([" or after in ")],")


def _is_path(value: str) -> bool:
    # /home/dev/x, ~/.ssh/id, ./run.sh; not base64 that happens to start with "/" (long random segments).
    return _PATH_RE.match(value) is not None and all(len(part) <= 40 for part in value.split("/"))


def _line_start(text: str, ks: int) -> bool:
    nl = text.rfind("\n", max(0, ks - 256), ks)
    if nl < 0 and ks > 256:
        return False
    return _LINE_START_RE.match(text, nl + 1, ks) is not None


def _name_for(text: str, ks: int, key: str, sep: str | None, spaced: bool) -> str:
    words = key_words(key)
    if "aws" in words and ("secret" in words or "session" in words):
        return "aws_secret_access_key"
    if "".join(words) in ("accountkey", "sharedaccesskey"):
        return "azure_storage_key"
    if sep == "=" and not spaced and _line_start(text, ks):
        return "env_assignment"
    return "generic_secret"
