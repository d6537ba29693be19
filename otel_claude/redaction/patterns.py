"""The compiled secret patterns: token formats with a recognisable shape, and the context patterns around them.

Formats follow gitleaks' default rules (config/gitleaks.toml) and grafana/agento11y's generated table
(go/agento11y/redaction_patterns_gen.go), loosened where a truncated or older key would still leak something
(e.g. `{20,}` instead of an exact length) and tightened where a bare prefix would hit ordinary text.

Speed and safety on any input: every pattern runs only when one of its needles (lower-case literals) occurs
in the lower-cased text, which costs a substring search; most patterns start with a literal, so the regex
engine jumps between occurrences of it (the word-boundary check comes after the literal, as a lookbehind, to
keep that); and every repetition is over a character class that cannot also match what follows it, so
nothing backtracks more than a bounded amount and each pattern is linear in the length of the text.
Secrets known only by their key (`password=...`, JSON keys, headers) are found by `kv.py`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from otel_claude.redaction.entropy import looks_random

MARKER_PREFIX: Final = "[REDACTED:"


def marker(name: str) -> str:
    """The text that replaces a secret: it names what was removed, never any of it."""
    return f"{MARKER_PREFIX}{name}]"


@dataclass(frozen=True)
class SecretPattern:
    """One secret format.

    `regex` may hold one group named `v`: then only that group is replaced (e.g. the token after `Bearer `),
    otherwise the whole match is. `needles` are lower-case literals, one of which every match contains (in
    lower case); the pattern only runs on texts holding one. `validate` vetoes a match whose replaced text
    is not really a secret.
    """

    name: str
    regex: str
    needles: tuple[str, ...]
    validate: Callable[[str], bool] | None = None


def _bearer_credential(value: str) -> bool:
    # A bearer token is random: it holds a digit, or it mixes cases as random letters do. Prose after "Bearer"
    # ("Bearer authentication", "BearerTokenProvider") does neither.
    return any(c.isdigit() for c in value) or looks_random(value.rstrip("="), min_length=16)


def _is_basic_credential(value: str) -> bool:
    # `Basic <base64 of user:password>`; decoding keeps "Basic configuration" and the like out.
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded and all(32 <= b < 127 for b in decoded)


def _start(literal: str, width: int | None = None) -> str:
    """`literal` (a regex of fixed `width`) as the start of a token: not preceded by a letter, digit or `_`.

    The check is a lookbehind placed after the literal, so the regex still starts with the literal.
    """
    if width is None:  # a class or an escaped character counts as one
        width = len(re.sub(r"\[[^\]]*\]|\\.", "x", literal))
    return f"{literal}(?<![A-Za-z0-9_].{{{width}}})"


def _p(name: str, regex: str, *needles: str, validate: Callable[[str], bool] | None = None) -> SecretPattern:
    return SecretPattern(name, regex, tuple(n.lower() for n in needles), validate)


_E = r"(?![A-Za-z0-9_-])"  # end boundary for fixed-length formats

# Applied in this order; where prefixes overlap the more specific pattern comes first.
TOKEN_PATTERNS: Final[tuple[SecretPattern, ...]] = (
    _p("anthropic_admin_key", _start("sk-ant-admin") + r"\d\d-[A-Za-z0-9_-]{20,}", "sk-ant-"),
    _p("anthropic_oauth_token", _start("sk-ant-o") + r"(?:at|rt)\d\d-[A-Za-z0-9_-]{20,}", "sk-ant-"),
    _p("anthropic_api_key", _start("sk-ant-") + r"[a-z]{2,8}\d\d-[A-Za-z0-9_-]{20,}", "sk-ant-"),
    _p("openrouter_key", _start("sk-or-v") + r"\d-[A-Za-z0-9]{32,}", "sk-or-"),
    _p(
        "openai_key",
        _start("sk-") + r"(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,}" + _E + ")",
        "sk-",
    ),
    _p(
        "aws_access_key_id",
        _start("A(?:3T[A-Z0-9]|KIA|SIA|BIA|CCA)", 4) + r"[A-Z2-7]{16}(?![A-Za-z0-9])",
        "a3t",
        "akia",
        "asia",
        "abia",
        "acca",
    ),
    _p("aws_bedrock_api_key", _start("ABSK") + r"[A-Za-z0-9+/]{100,}={0,2}", "absk"),
    _p("github_token", _start("gh[pousr]_") + r"[A-Za-z0-9]{30,}", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    _p("github_token", _start("github_pat_") + r"[A-Za-z0-9_]{40,}", "github_pat_"),
    _p(
        "gitlab_token",
        _start("gl") + r"(?:pat|dt|ptt|rt|soat|ft|imt|cbt|agent|oas|ffct)-[A-Za-z0-9_-]{20,}",
        "glpat-",
        "gldt-",
        "glptt-",
        "glrt-",
        "glsoat-",
        "glft-",
        "glimt-",
        "glcbt-",
        "glagent-",
        "gloas-",
        "glffct-",
    ),
    _p("slack_token", _start("x") + r"(?:ox[abposre]-[A-Za-z0-9-]{10,}|app-\d-[A-Za-z0-9-]{10,})", "xox", "xapp-"),
    _p("slack_webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}", "hooks.slack.com/"),
    _p("stripe_key", _start("sk_") + r"(?:live|test|prod)_[A-Za-z0-9]{10,}", "sk_live_", "sk_test_", "sk_prod_"),
    _p("stripe_key", _start("rk_") + r"(?:live|test|prod)_[A-Za-z0-9]{10,}", "rk_live_", "rk_test_", "rk_prod_"),
    _p("stripe_key", _start("whsec_") + r"[A-Za-z0-9+/=]{20,}", "whsec_"),
    _p("google_api_key", _start("AIza") + r"[A-Za-z0-9_-]{35}" + _E, "aiza"),
    _p("google_oauth", _start("ya29\\.") + r"[A-Za-z0-9_-]{20,}", "ya29."),
    _p("google_oauth", _start("GOCSPX-") + r"[A-Za-z0-9_-]{20,}", "gocspx-"),
    _p("google_oauth", r"1//0(?<![A-Za-z0-9_/].{4})[A-Za-z0-9_-]{30,}", "1//0"),
    _p("npm_token", _start("npm_") + r"[A-Za-z0-9]{36}(?![A-Za-z0-9])", "npm_"),
    _p("pypi_token", _start("pypi-AgE") + r"[A-Za-z0-9_-]{50,}", "pypi-age"),
    _p("huggingface_token", _start("hf_") + r"[A-Za-z0-9]{30,}(?![A-Za-z0-9])", "hf_"),
    _p("huggingface_token", _start("api_org_") + r"[A-Za-z0-9]{30,}(?![A-Za-z0-9])", "api_org_"),
    _p("sendgrid_api_key", _start("SG\\.") + r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _E, "sg."),
    _p("twilio_api_key", _start("SK") + r"[0-9a-fA-F]{32}(?![0-9A-Za-z])", "sk"),
    _p("grafana_token", _start("glc_") + r"[A-Za-z0-9+/]{32,}={0,2}", "glc_"),
    _p("grafana_token", _start("glsa_") + r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", "glsa_"),
    _p("grafana_token", _start("eyJrIjoi") + r"[A-Za-z0-9]{60,}", "eyjrijoi"),
    # header.payload.signature, and the five parts of an encrypted JWT. The header must start its run of
    # base64url characters (no "-" before it either) and the segments are taken possessively: otherwise
    # "eyJ-eyJ-eyJ-..." would be scanned to its end once per "eyJ", in quadratic time.
    _p(
        "jwt",
        r"eyJ(?<![A-Za-z0-9_-].{3})[A-Za-z0-9_-]{8,}+\.ey[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+"
        r"(?:\.[A-Za-z0-9_-]++){0,2}",
        "eyj",
    ),
    _p("digitalocean_token", _start("do[opr]_v1_") + r"[a-f0-9]{64}", "doo_v1_", "dop_v1_", "dor_v1_"),
    _p("databricks_token", _start("dapi") + r"[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])", "dapi"),
    _p("shopify_token", _start("shp") + r"(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", "shpat_", "shpca_", "shppa_", "shpss_"),
    _p("vault_token", _start("hv[sbr]\\.") + r"[A-Za-z0-9_-]{24,}", "hvs.", "hvb.", "hvr."),
    _p("linear_api_key", _start("lin_api_") + r"[A-Za-z0-9]{40}", "lin_api_"),
    _p("doppler_token", _start("dp\\.") + r"(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}", "dp."),
    _p("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "age-secret-key-1"),
    _p("postman_api_key", _start("PMAK-") + r"[a-fA-F0-9]{24}-[a-fA-F0-9]{34}", "pmak-"),
    _p("heroku_api_key", _start("HRKU-AA") + r"[0-9a-zA-Z_-]{58}", "hrku-aa"),
    _p("atlassian_api_token", _start("ATATT3") + r"[A-Za-z0-9_=-]{100,}", "atatt3"),
    _p("perplexity_api_key", _start("pplx-") + r"[A-Za-z0-9]{48}", "pplx-"),
    _p("groq_api_key", _start("gsk_") + r"[A-Za-z0-9]{48,}", "gsk_"),
    _p("xai_api_key", _start("xai-") + r"[A-Za-z0-9]{60,}", "xai-"),
    _p("replicate_api_token", _start("r8_") + r"[A-Za-z0-9]{37,}", "r8_"),
    _p("notion_token", _start("ntn_") + r"[A-Za-z0-9]{40,}", "ntn_"),
    _p("notion_token", _start("secret_") + r"[A-Za-z0-9]{43}(?![A-Za-z0-9])", "secret_"),
    _p("square_token", _start("sq0") + r"(?:atp|csp)-[A-Za-z0-9_-]{22,}", "sq0atp-", "sq0csp-"),
    _p("square_token", _start("EAAA") + r"[A-Za-z0-9_-]{60,}", "eaaa"),
    _p("onepassword_token", _start("ops_eyJ") + r"[A-Za-z0-9+/]{100,}={0,3}", "ops_eyj"),
    _p(
        "flyio_token",
        _start("f") + r"(?:o1_[A-Za-z0-9_-]{40,}|m[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})",
        "fo1_",
        "fm1",
        "fm2",
    ),
    _p("planetscale_token", _start("pscale_") + r"(?:tkn|oauth|pw)_[A-Za-z0-9_.=-]{32,}", "pscale_"),
    _p("tailscale_key", _start("tskey-") + r"[a-z]+-[A-Za-z0-9]{8,}-[A-Za-z0-9]{10,}", "tskey-"),
    _p("sentry_token", _start("sntry[us]_") + r"[A-Za-z0-9+/=_]{40,}", "sntrys_", "sntryu_"),
    _p("mailgun_api_key", _start("key-") + r"[a-f0-9]{32}(?![A-Za-z0-9])", "key-"),
    # An account SID is an id rather than a key, but it is half of a credential pair and detect-secrets (our
    # test oracle) counts it as one, so it goes too.
    _p("twilio_account_sid", _start("AC") + r"[a-f0-9]{32}(?![A-Za-z0-9])", "ac"),
    # Formats that do not start with a literal: they are tried on every position, but only on texts that
    # hold their needle.
    _p(
        "azure_client_secret",
        r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
        "q~",
    ),
    _p("telegram_bot_token", r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}" + _E, ":aa"),
)

# Secrets known by what stands before them; only group `v` is replaced. Run after TOKEN_PATTERNS, so a token
# already replaced by a marker is not matched again.
CONTEXT_PATTERNS: Final[tuple[SecretPattern, ...]] = (
    _p("azure_sas_token", r"sig=(?<=[?&]sig=)(?P<v>[A-Za-z0-9%+/=_-]{20,})", "sig="),
    _p(
        "bearer_token",
        r"[Bb](?<![A-Za-z].)(?i:earer)[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)",
        "bearer",
        validate=_bearer_credential,
    ),
    _p(
        "basic_auth",
        r"[Bb](?<![A-Za-z].)(?i:asic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
        "basic",
        validate=_is_basic_credential,
    ),
    # `mysql -u root -pS3cret db`: the password glued to -p, on the command line of a MySQL client.
    _p("mysql_password", r"(?:mysql|mariadb)[a-z]*[ \t][^\n]{0,200}?[ \t]-p(?P<v>[^\s'\"]+)", "mysql", "mariadb"),
    # `curl -u user:password` (and any other command taking -u/--user user:password).
    _p(
        "basic_auth",
        r"[ \t](?:-u|--user)[= \t]+[\"']?[^\s:\"'-][^\s:\"']{0,127}:(?P<v>[^\s\"']{1,256})",
        "-u",
        "--user",
    ),
)
TOKEN_COMPILED: Final = tuple((p, re.compile(p.regex)) for p in TOKEN_PATTERNS)
CONTEXT_COMPILED: Final = tuple((p, re.compile(p.regex)) for p in CONTEXT_PATTERNS)
# Every token format matches inside one run of these characters, at least 14 long (the shortest format,
# a Slack token, has 15), and holding a digit or a capital (random text of that length without either is
# as likely as (26/62)^14, about 5e-6, and every format here is longer), so the token patterns only look at
# such runs: in prose and code, lower-case words, paths and identifiers are most of the text and none of
# them qualifies. The run starts where the character before is no token character; the possessive
# quantifiers never give back what they took, so the scan is linear.
TOKEN_CHARS: Final = r"A-Za-z0-9_.+/=~:-"
_LOWER_TOKEN_CHARS: Final = r"a-z_.+/=~:-"
TOKEN_RUN_RE: Final = re.compile(
    rf"(?<![{TOKEN_CHARS}])[{_LOWER_TOKEN_CHARS}]*+[A-Z0-9][{TOKEN_CHARS}]*+(?<=[{TOKEN_CHARS}]{{14}})"
)


def starts_with_literal(pattern: SecretPattern) -> bool:
    """Whether the regex engine can jump between occurrences of a leading literal (a fast search)."""
    return pattern.regex[:1].isalnum() or pattern.regex[:1] in "-:"


ALL_PATTERN_NAMES: Final = frozenset(p.name for p in (*TOKEN_PATTERNS, *CONTEXT_PATTERNS))


# --- private key blocks: found procedurally (see text.py) so a BEGIN without an END stays linear ---
PRIVATE_KEY_BEGIN_RE: Final = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY_END_RE: Final = re.compile(r"-----END[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----")
# When no END follows (a truncated key), everything that can be key body is redacted. Escaped newlines
# (`\n` as two characters, as in JSON) are part of the body.
PRIVATE_KEY_BODY_RE: Final = re.compile(r"[A-Za-z0-9+/=\s:,.\\-]*")
PRIVATE_KEY_MAX_SPAN: Final = 64 * 1024  # an RSA-8192 PEM is about 6.4 KB; an END further away is not this key's

# --- passwords in URLs: scheme://user:password@host. Anchored on the literal "://". ---
# The user ends at the first ":"; the password runs to the last "@" of the URL that a host and the end of the
# authority follow, so a password may hold "@", "/" and ":" (a parser would end the authority at the "/"; a
# password pasted unescaped does not, and cutting it there would leak its tail). "?" ends it, so a query's
# "a@b.com" is never read as one; "#" does too for a parser, but unescaped in real DSNs it is part of the
# password; a port and path (`host:443/@scope`) are vetoed in text.py. At most 256 characters are read, and
# only where an "@" is within reach (text.py), so the backtracking to the last "@" is bounded.
URL_CREDENTIALS_RE: Final = re.compile(
    r"://[^\s:@/?#'\"<>\\]{0,256}:(?P<v>[^\s?'\"<>\\`]{1,256})@"
    r"(?=[A-Za-z0-9\[\]._-]{1,253}+(?:[:/?#\s'\"<>`),;\]}|]|$))"
)
URL_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30})$")
DB_SCHEMES: Final = frozenset(
    {
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "mongodb",
        "mongodb+srv",
        "redis",
        "rediss",
        "amqp",
        "amqps",
        "mssql",
        "sqlserver",
        "oracle",
        "clickhouse",
        "cockroachdb",
        "cassandra",
        "neo4j",
        "neo4j+s",
        "couchdb",
        "elasticsearch",
        "memcached",
        "postgresql+psycopg2",
        "postgresql+asyncpg",
        "mysql+pymysql",
        "snowflake",
        "db2",
        "influxdb",
    }
)
