"""Whether the value found after a secret key is a secret, or code, a name, a path, a placeholder.

A quoted literal is a secret unless it is a placeholder or names a key. An unquoted word is a secret in env,
query and config styles (`KEY=value`, `?token=...`, a YAML line `password: value`), but in code
(`token = get_token()`, `password: str`, `f(api_key=key)`) only when it looks like a literal secret rather
than a name or an expression.
"""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.entropy import looks_random
from otel_claude.redaction.keys import is_placeholder, is_sensitive_key

MAX_VALUE: Final = 8192
ENV_VALUE_RE: Final = re.compile(r"[^\s\"'`;&|]+")  # a shell or .env value: a literal up to the next blank
_DOTTED_RE: Final = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$")
_CALL_RE: Final = re.compile(r"^[A-Za-z_$][\w.$]*[(\[]")
_PATH_RE: Final = re.compile(r"^(?:~|\.{1,2})?/[A-Za-z0-9_.@%-]*(?:/[A-Za-z0-9_.@%-]*)*$")
# A name (api_key, GITHUB_TOKEN, hide_cookie2): digits come last, where a password mixes them in.
_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z_-]*[0-9]*$")
_TYPE_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_LINE_START_RE: Final = re.compile(
    r"[ \t]*(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+|declare[ \t]+-x[ \t]+|ENV[ \t]+|ARG[ \t]+)?[\"']?\Z"
)


def is_secret_value(
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
    literal_looking = looks_like_literal_secret(value)
    if sep == "=" and not spaced:
        # KEY=value: env files, env dumps, query strings, DSNs, CLI flags; but also f(api_key=key) in code.
        if env_style(text, ks, key, value_end - len(value)):
            return True
        if _is_code(value, after):
            return False
        return literal_looking or (ks > 0 and text[ks - 1] in "?&;")
    # `key = value`, `key: value`: code or config. In code a value holding a call or an index is an
    # expression, and a literal secret is quoted (handled above).
    if any(c in value for c in "([{"):
        return False
    rest = text[value_end : value_end + 80].split("\n", 1)[0].strip()
    config_line = line_start(text, ks) and (not rest or rest.startswith("#")) and after != ","
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


def looks_like_literal_secret(value: str) -> bool:
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


def env_style(text: str, ks: int, key: str, v0: int) -> bool:
    """`KEY=value` as in a .env file, an `env` dump or `export`: an upper-case key, or a key that opens a line
    the value ends (unlike `    credentials=None, secure=None):` in a call spread over lines)."""
    if key.isupper():
        return True
    if not line_start(text, ks):
        return False
    m = ENV_VALUE_RE.match(text, v0, min(len(text), v0 + MAX_VALUE))
    end = m.end() if m is not None else v0
    rest = text[end : end + 80].split("\n", 1)[0].strip()
    return not rest or rest.startswith("#")


def _is_code(value: str, after: str) -> bool:
    """An expression rather than a literal: a collection, a flag, a call or an index (`get_token()`,
    `tokens[0]`). A password may hold `(` too (`xo4(YGF...`), but then it does not end there."""
    if value[0] in "-([{":
        return True
    return _CALL_RE.match(value) is not None and (value[-1] in "([" or after in ")],")


def _is_path(value: str) -> bool:
    # /home/dev/x, ~/.ssh/id, ./run.sh; not base64 that happens to start with "/" (long random segments).
    return _PATH_RE.match(value) is not None and all(len(part) <= 40 for part in value.split("/"))


def line_start(text: str, ks: int) -> bool:
    nl = text.rfind("\n", max(0, ks - 256), ks)
    if nl < 0 and ks > 256:
        return False
    return _LINE_START_RE.match(text, nl + 1, ks) is not None


# SPDX identifiers and versions: what a `license` key usually holds.
_SPDX_RE: Final = re.compile(r"(?i)^[a-z][a-z0-9.+-]*?(?:-\d+(?:\.\d+)*)?(?:-only|-or-later|\+)?$")
_PIN_RE: Final = re.compile(r"^\d{4,12}$")


def credential_value(word: str, value: str) -> bool:
    """Whether `value`, stored under a key whose last word is `word` (keys.CREDENTIAL_WORDS), is a secret."""
    value = value.strip().strip("\"'`")
    if is_placeholder(value) or _CALL_RE.match(value) or _DOTTED_RE.match(value) or _is_path(value):
        return False  # a placeholder, a call (os.urandom(16)), a name (settings.SALT) or a path
    if word in ("pin", "passcode", "otp", "totp", "mfa"):
        return _PIN_RE.match(value) is not None or looks_like_literal_secret(value)
    if word == "dsn":
        return ("://" in value and "@" in value) or looks_random(value, min_length=16)
    compact = re.sub(r"[-:._]", "", value)
    if word in ("license", "licence") and _SPDX_RE.match(value) and not any(c.isdigit() for c in compact[6:]):
        return False
    if len(compact) < 12:
        return False
    # The key says it is a credential, so the bar is lower than for a token in prose: random, or hex with
    # both digits and letters (a short hex key has too few characters for its entropy to show).
    hex_key = (
        all(c in "0123456789abcdefABCDEF" for c in compact)
        and any(c.isdigit() for c in compact)
        and any(c.isalpha() for c in compact)
    )
    return hex_key or looks_random(compact, min_length=12) or (len(compact) >= 16 and looks_like_literal_secret(value))
