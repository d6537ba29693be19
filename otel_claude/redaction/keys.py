"""Which keys name a secret and which values are only placeholders (the span attributes that are safe as they
are: attribute_keys.py).

A key is judged by its last meaningful word, so `api_key`, `DB_PASSWORD`, `accessToken` and
`X-Amz-Security-Token` are secret while `input_tokens`, `max_tokens`, `token_count`, `secret_name`,
`apiKeySource` and `password_min_length` are not: the last word says what the value is.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from otel_claude.redaction.patterns import MARKER_PREFIX

_WORD_RE: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Last words that make a key secret on their own.
_SECRET_WORDS: Final = frozenset(
    {
        "pwd",
        "pw",
        "pass",
        "token",
        "credential",
        "credentials",
        "creds",
        "cookie",
        "cookies",
        "auth",
        "authorization",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "passphrase",
    }
)
# Suffixes that make a single word secret: DBPASSWORD, accesstoken, clientsecret.
_SECRET_SUFFIXES: Final = ("password", "passwords", "passwd", "passphrase", "secret", "secrets", "token", "cookie")
# `<qualifier> key` (api_key, SECRET_KEY, AccountKey) is secret; a key of any other kind (primary_key,
# sort_key, cache_key, public_key, a dict's "key") is not.
_KEY_QUALIFIERS: Final = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "encryption",
        "encrypt",
        "decryption",
        "signing",
        "sign",
        "master",
        "account",
        "license",
        "licence",
        "client",
        "app",
        "application",
        "service",
        "auth",
        "session",
        "admin",
        "deploy",
        "storage",
        "shared",
        "subscription",
        "consumer",
        "sas",
        "webhook",
        "ssh",
        "tls",
        "ssl",
        "gpg",
        "pgp",
        "hmac",
        "jwt",
        "aes",
        "crypto",
        "root",
        "write",
        "ingest",
        "ingestion",
        "vault",
        "rsa",
        "personal",
        "openai",
        "anthropic",
        "stripe",
        "sendgrid",
        "twilio",
        "mailgun",
        "github",
        "gitlab",
        "slack",
        "aws",
        "gcp",
        "google",
        "azure",
        "hf",
        "huggingface",
        "npm",
        "pypi",
        "datadog",
        "dd",
        "sentry",
        "algolia",
        "mapbox",
        "firebase",
        "groq",
        "mistral",
        "cohere",
        "deepseek",
        "gemini",
        "xai",
        "perplexity",
        "replicate",
        "pusher",
    }
)
# Words that describe an encoding of the value rather than what it is: `client_key_data`, `password_hash`,
# `secret_key_base` are judged by the word before them.
_TRANSPARENT: Final = frozenset(
    {
        "data",
        "value",
        "val",
        "b64",
        "base64",
        "hex",
        "pem",
        "raw",
        "plain",
        "plaintext",
        "str",
        "hash",
        "base",
        "encrypted",
        "enc",
        "literal",
    }
)
_ALWAYS_SECRET: Final = frozenset({"private_key_id", "privatekeyid", "set_cookie"})

# Headers whose whole value (scheme and all) is a credential.
HEADER_KEYS: Final = frozenset({"authorization", "proxy_authorization", "cookie", "set_cookie"})


# Inside an object held by a secret key ({"secret": {"value": ...}}), these keys hold the secret itself;
# others ({"auth": {"type": "oauth", "tokenUrl": ...}}) are judged on their own.
GENERIC_VALUE_KEYS: Final = frozenset(
    {
        "value",
        "val",
        "data",
        "key",
        "secret",
        "token",
        "password",
        "raw",
        "plain",
        "plaintext",
        "b64",
        "base64",
        "hex",
        "content",
        "contents",
        "text",
        "string",
        "str",
        "current",
        "previous",
        "old",
        "new",
        "primary",
        "secondary",
    }
)


def key_words(key: str) -> list[str]:
    """`X-Amz-Security-Token` -> ['x', 'amz', 'security', 'token']; trailing digits (API_KEY_2) dropped."""
    words = [w.lower() for w in _WORD_RE.findall(key)]
    while words and words[-1].isdigit():
        words.pop()
    return words


@functools.lru_cache(maxsize=8192)
def is_sensitive_key(key: str) -> bool:
    """Whether a value stored under `key` is a secret (a dict key, an attribute key, `KEY=` or `key:`)."""
    words = key_words(key)
    if not words:
        return False
    if "_".join(words) in _ALWAYS_SECRET:
        return True
    if len(words) > 1 and words[-1] in _TRANSPARENT:
        words = words[:-1]
    last = words[-1]
    if last in _SECRET_WORDS:
        return True
    if last in ("key", "keys"):
        return len(words) > 1 and words[-2] in _KEY_QUALIFIERS
    if last.endswith(_SECRET_SUFFIXES) and not last.startswith("secretar"):
        return True
    return any(last.endswith(suffix) and last[: -len(suffix)] in _KEY_QUALIFIERS for suffix in ("key", "keys"))


# Last words that name a secret only when the value looks like one: `SIGNING_SALT`, `ENCRYPTION_IV`, `HMAC`,
# `ADMIN_PIN`, `LICENSE`, `SENTRY_DSN`. Their values are judged by `values.credential_value`, so
# `"license": "MIT"`, `pin: 13` and `salt = os.urandom(16)` stay.
CREDENTIAL_WORDS: Final = frozenset(
    {
        "salt",
        "iv",
        "hmac",
        "seed",
        "license",
        "licence",
        "dsn",
        "pin",
        "passcode",
        "otp",
        "totp",
        "mfa",
    }
)


@functools.lru_cache(maxsize=8192)
def credential_word(key: str) -> str | None:
    """The word that makes `key` name a credential whose value must be tested (see CREDENTIAL_WORDS), if any."""
    words = key_words(key)
    if len(words) > 1 and words[-1] in _TRANSPARENT:
        words = words[:-1]
    if words and words[-1] in CREDENTIAL_WORDS:
        return words[-1]
    if len(words) > 1 and words[-1] in ("key", "secret", "code") and words[-2] in CREDENTIAL_WORDS:
        return words[-2]  # license_key, hmac_secret, otp_code
    return None


@functools.lru_cache(maxsize=1024)
def is_header_key(key: str) -> bool:
    return "_".join(key_words(key)) in HEADER_KEYS


_PLACEHOLDER_RE: Final = re.compile(
    r"""^(?:
        [*xX.\u2022#_-]+                      # masks: ****, xxxx, ...
      | \$\{?[A-Za-z_][A-Za-z0-9_]*\}?.*      # $VAR, ${VAR} and anything built from it
      | \$\(.*                                # $(command)
      | %\(?[A-Za-z_]*\)?s                   # %s, %(name)s
      | \{\{.*\}\}                            # {{ template }}
      | \{[A-Za-z_][A-Za-z0-9_.]*\}           # {name}
      | <[^<>]{1,64}>                         # <your-token>
      | (?i:none|null|nil|true|false|undefined|yes|no|on|off|required|optional|str|string|int|bool|boolean|bytes|
             any|object|number|secretstr|redacted|hidden|masked|empty|unset|env|dummy|placeholder|changeme|changeit|
             replace[-_]?me|example|sample|todo|tbd|fixme|secret|password|your[-_a-z]*)
    )$""",
    re.VERBOSE,
)


# Format specifications and auth scheme words: what is left of "Basic %s" or "{0}:{1}" once they are removed.
_FORMAT_RE: Final = re.compile(r"%\(\w+\)[sdr]|%[-#0 +]*\d*(?:\.\d+)?[sdrfxi]|\{[^{}]{0,40}\}")
_SCHEME_WORDS_RE: Final = re.compile(r"(?i)\b(?:bearer|basic|digest|token|negotiate|bot)\b")
_VERSION_RE: Final = re.compile(r"^v?\d+(?:\.\d+)+$")  # 1.3.6.1.5.5.7.3.1, v2.0.1
_DOTTED_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+$")  # dashboard.session, app.auth.key


def is_placeholder(value: str) -> bool:
    """A value that holds no secret: empty, a mask, a variable reference, a template, a type name,
    a format string (`%s:%s`, `Basic {}`), a version or an OID."""
    v = value.strip().rstrip(".,;:")  # "AUTH=<mechanism>." ends a sentence
    if len(v) < 3 or v.startswith(MARKER_PREFIX):
        return True
    if "${" in v or "{{" in v:
        return True
    if _PLACEHOLDER_RE.match(v) is not None or _VERSION_RE.match(v) is not None or _DOTTED_NAME_RE.match(v):
        return True
    if "%" in v or "{" in v or len(v) <= 10:
        rest = _SCHEME_WORDS_RE.sub("", _FORMAT_RE.sub("", v))
        return not any(c.isalnum() for c in rest)
    return False
