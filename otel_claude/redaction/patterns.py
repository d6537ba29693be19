"""The compiled secret patterns: token formats with a recognisable shape, and the context patterns around them.

Formats follow gitleaks' default rules (config/gitleaks.toml) and grafana/agento11y's generated table
(go/agento11y/redaction_patterns_gen.go), loosened where a truncated or older key would still leak something
(e.g. `{20,}` instead of an exact length) and tightened where a bare prefix would hit ordinary text.

Every pattern here must run in linear time on any input: each one starts with a literal (so the regex engine
only tries positions where that literal occurs) or is gated by a needle that must be present, and every
repetition is over a character class that cannot also match what follows it, so nothing backtracks
quadratically. Secrets known only by their key (`password=...`, JSON keys, headers) are found by `kv.py`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

MARKER_PREFIX: Final = "[REDACTED:"


def marker(name: str) -> str:
    """The text that replaces a secret: it names what was removed, never any of it."""
    return f"{MARKER_PREFIX}{name}]"


@dataclass(frozen=True)
class SecretPattern:
    """One secret format.

    `regex` may hold one group named `v`: then only that group is replaced (e.g. the token after `Bearer `),
    otherwise the whole match is. `needle`, when set, is a literal that every match contains; the pattern
    only runs on texts holding it (for formats that do not start with a literal). `validate` vetoes a match
    whose replaced text is not really a secret.
    """

    name: str
    regex: str
    needle: str | None = None
    validate: Callable[[str], bool] | None = None


def _has_digit(value: str) -> bool:
    # Real bearer tokens are random and nearly always hold a digit; prose after "Bearer" ("Bearer
    # authentication") does not.
    return any(c.isdigit() for c in value)


def _is_basic_credential(value: str) -> bool:
    # `Basic <base64 of user:password>`; decoding keeps "Basic configuration" and the like out.
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded and all(32 <= b < 127 for b in decoded)


_B = r"(?<![A-Za-z0-9_])"  # start boundary that, unlike \b, also refuses a preceding underscore
_E = r"(?![A-Za-z0-9_-])"  # end boundary for fixed-length formats

# Order matters where prefixes overlap: at one position the first alternative that matches wins.
TOKEN_PATTERNS: Final[tuple[SecretPattern, ...]] = (
    SecretPattern("anthropic_admin_key", _B + r"sk-ant-admin\d\d-[A-Za-z0-9_-]{20,}"),
    SecretPattern("anthropic_oauth_token", _B + r"sk-ant-o(?:at|rt)\d\d-[A-Za-z0-9_-]{20,}"),
    SecretPattern("anthropic_api_key", _B + r"sk-ant-[a-z]{2,8}\d\d-[A-Za-z0-9_-]{20,}"),
    SecretPattern("openrouter_key", _B + r"sk-or-v\d-[A-Za-z0-9]{32,}"),
    SecretPattern(
        "openai_key", _B + r"sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,}" + _E + ")"
    ),
    SecretPattern("aws_access_key_id", _B + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])"),
    SecretPattern("aws_bedrock_api_key", _B + r"ABSK[A-Za-z0-9+/]{100,}={0,2}"),
    SecretPattern("github_token", _B + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"),
    SecretPattern("gitlab_token", _B + r"gl(?:pat|dt|ptt|rt|soat|ft|imt|cbt|agent|oas|ffct)-[A-Za-z0-9_-]{20,}"),
    SecretPattern("slack_token", _B + r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
    SecretPattern("slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    SecretPattern("stripe_key", _B + r"(?:(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})"),
    SecretPattern("google_api_key", _B + r"AIza[A-Za-z0-9_-]{35}" + _E),
    SecretPattern(
        "google_oauth", _B + r"(?:ya29\.[A-Za-z0-9_-]{20,}|GOCSPX-[A-Za-z0-9_-]{20,}|1//0[A-Za-z0-9_-]{30,})"
    ),
    SecretPattern("npm_token", _B + r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
    SecretPattern("pypi_token", _B + r"pypi-AgE[A-Za-z0-9_-]{50,}"),
    SecretPattern("huggingface_token", _B + r"(?:hf_|api_org_)[A-Za-z0-9]{30,}(?![A-Za-z0-9])"),
    SecretPattern("sendgrid_api_key", _B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _E),
    SecretPattern("twilio_api_key", _B + r"SK[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    SecretPattern(
        "grafana_token",
        _B + r"(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{60,})",
    ),
    SecretPattern("jwt", _B + r"eyJ[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}"),
    SecretPattern("digitalocean_token", _B + r"do[opr]_v1_[a-f0-9]{64}"),
    SecretPattern("databricks_token", _B + r"dapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])"),
    SecretPattern("shopify_token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    SecretPattern("vault_token", _B + r"hv[sbr]\.[A-Za-z0-9_-]{24,}"),
    SecretPattern("linear_api_key", _B + r"lin_api_[A-Za-z0-9]{40}"),
    SecretPattern("doppler_token", _B + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    SecretPattern("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    SecretPattern("postman_api_key", _B + r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    SecretPattern("heroku_api_key", _B + r"HRKU-AA[0-9a-zA-Z_-]{58}"),
    SecretPattern("atlassian_api_token", _B + r"ATATT3[A-Za-z0-9_=-]{100,}"),
    SecretPattern("perplexity_api_key", _B + r"pplx-[A-Za-z0-9]{48}"),
    SecretPattern("groq_api_key", _B + r"gsk_[A-Za-z0-9]{48,}"),
    SecretPattern("xai_api_key", _B + r"xai-[A-Za-z0-9]{60,}"),
    SecretPattern("replicate_api_token", _B + r"r8_[A-Za-z0-9]{37,}"),
    SecretPattern("notion_token", _B + r"(?:ntn_[A-Za-z0-9]{40,}|secret_[A-Za-z0-9]{43}(?![A-Za-z0-9]))"),
    SecretPattern("square_token", _B + r"(?:sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}|EAAA[A-Za-z0-9_-]{60,})"),
    SecretPattern("onepassword_token", _B + r"ops_eyJ[A-Za-z0-9+/]{100,}={0,3}"),
    SecretPattern("flyio_token", _B + r"(?:fo1_[A-Za-z0-9_-]{40,}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})"),
    SecretPattern("planetscale_token", _B + r"pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_.=-]{32,}"),
    SecretPattern("tailscale_key", _B + r"tskey-[a-z]+-[A-Za-z0-9]{8,}-[A-Za-z0-9]{10,}"),
    SecretPattern("sentry_token", _B + r"sntry[us]_[A-Za-z0-9+/=_]{40,}"),
    SecretPattern("mailgun_api_key", _B + r"key-[a-f0-9]{32}(?![A-Za-z0-9])"),
    # Formats that do not start with a literal: only tried on texts that hold their needle.
    SecretPattern(
        "azure_client_secret",
        r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
        needle="Q~",
    ),
    SecretPattern("telegram_bot_token", r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}" + _E, needle=":AA"),
)

# Secrets known by what stands before them; only group `v` is replaced. Run after TOKEN_PATTERNS, so a token
# already replaced by a marker is not matched again.
CONTEXT_PATTERNS: Final[tuple[SecretPattern, ...]] = (
    SecretPattern("azure_sas_token", r"[?&]sig=(?P<v>[A-Za-z0-9%+/=_-]{20,})"),
    SecretPattern(
        "bearer_token", r"(?<![A-Za-z])(?i:bearer)[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)", validate=_has_digit
    ),
    SecretPattern(
        "basic_auth",
        r"(?<![A-Za-z])(?i:basic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
        validate=_is_basic_credential,
    ),
    # `curl -u user:password`: the lazy scan is bounded to the rest of one line of a curl command.
    SecretPattern(
        "basic_auth", r"\bcurl\b[^\n]{0,512}?[ \t](?:-u|--user)[= \t]+[\"']?[^\s:\"']{1,128}:(?P<v>[^\s\"']{1,256})"
    ),
)


@dataclass(frozen=True)
class CombinedPatterns:
    """Patterns joined into one alternation so a text is scanned once; group `p{i}` tells which matched."""

    regex: re.Pattern[str]
    patterns: tuple[SecretPattern, ...]


def combine(patterns: tuple[SecretPattern, ...]) -> CombinedPatterns:
    parts = [f"(?P<p{i}>{p.regex.replace('(?P<v>', f'(?P<v{i}>')})" for i, p in enumerate(patterns)]
    return CombinedPatterns(re.compile("|".join(parts)), patterns)


TOKENS: Final = combine(tuple(p for p in TOKEN_PATTERNS if p.needle is None))
CONTEXT: Final = combine(CONTEXT_PATTERNS)
GATED: Final = tuple((p, re.compile(p.regex)) for p in TOKEN_PATTERNS if p.needle is not None)
ALL_PATTERN_NAMES: Final = frozenset(p.name for p in (*TOKEN_PATTERNS, *CONTEXT_PATTERNS))

# --- private key blocks: found procedurally (see text.py) so a BEGIN without an END stays linear ---
PRIVATE_KEY_BEGIN_RE: Final = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY_END_RE: Final = re.compile(r"-----END[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----")
# When no END follows (a truncated key), everything that can be key body is redacted. Escaped newlines
# (`\n` as two characters, as in JSON) are part of the body.
PRIVATE_KEY_BODY_RE: Final = re.compile(r"[A-Za-z0-9+/=\s:,.\\-]*")
PRIVATE_KEY_MAX_SPAN: Final = 64 * 1024  # an RSA-8192 PEM is about 6.4 KB; an END further away is not this key's

# --- passwords in URLs: scheme://user:password@host. Anchored on the literal "://". ---
URL_CREDENTIALS_RE: Final = re.compile(r"://[^\s:@/?#'\"<>\\]{0,256}:(?P<v>[^\s@/?#'\"<>\\]{1,256})@(?=[A-Za-z0-9\[\]._-])")
URL_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30})$")
DB_SCHEMES: Final = frozenset({
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps",
    "mssql", "sqlserver", "oracle", "clickhouse", "cockroachdb", "cassandra", "neo4j", "neo4j+s", "couchdb",
    "elasticsearch", "memcached", "postgresql+psycopg2", "postgresql+asyncpg", "mysql+pymysql", "snowflake", "db2",
    "influxdb",
})
