"""Secrets with no known format and no key in front of them: random tokens in prose, found by their entropy.

A run of token characters is a secret when it is long enough, near the highest entropy its length allows and
mixed the way generated secrets are (entropy.py), and is none of the random-looking things that are not
secrets: ids with a known prefix (toolu_, msg_, req_...), UUIDs, digests named by their algorithm, paths. Hex
strings are digests far more often than keys (a git commit, a checksum), so a hex run is a secret only with a
credential word shortly before it on the same line ("API key 3f2a...").
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Final

from otel_claude.redaction.edits import Edits
from otel_claude.redaction.entropy import looks_random, shannon_entropy
from otel_claude.redaction.patterns import TOKEN_CHARS

NAME: Final = "high_entropy_token"
MIN_LENGTH: Final = 20
_MAX: Final = 1024
# Ids and digests that are random by design and say what they are.
# Runs of token characters long enough to hold one (possessive: the scan is linear).
_LONG_RUN_RE: Final = re.compile(rf"(?<![{TOKEN_CHARS}])[{TOKEN_CHARS}]{{{MIN_LENGTH},}}+")
_ID_PREFIXES: Final = (
    "toolu_",
    "srvtoolu_",
    "msg_",
    "req_",
    "call_",
    "chatcmpl-",
    "agent-",
    "file_",
    "run_",
    "thread_",
    "asst_",
    "sha1-",
    "sha256-",
    "sha384-",
    "sha512-",
    "sha1:",
    "sha256:",
    "sha512:",
    "md5:",
    "blake2",
    "xxh",
    "sk-ant-",
)
_UUID_RE: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX_RE: Final = re.compile(r"[0-9a-fA-F]{32,128}")
_GLUED_PREFIX_HEX_RE: Final = re.compile(r"[A-Za-z]{2,8}([0-9a-f]{32,128})")
_STRIP: Final = ".,:;-_=~+/"
_SEPARATORS_RE: Final = re.compile(r"[-_.~/+]")
# The words of a name: camelCase words, acronyms, numbers, versions (v23).
_NAME_WORDS_RE: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")
# Words after which a hex string is a credential rather than a digest.
_CREDENTIAL_CONTEXT_RE: Final = re.compile(
    r"(?i)(?:key|token|secret|passw|pwd|credential|auth|api|bearer|license|licence|signing|hmac|salt)"
    r"[^\n]{0,40}\Z"
)


def scrub_random_tokens(text: str, names: list[str]) -> str:
    """Replace random-looking tokens (no known format, no key) by `[REDACTED:high_entropy_token]`."""
    if len(text) < MIN_LENGTH:
        return text
    edits = Edits()
    for m in _LONG_RUN_RE.finditer(text):
        for start, end in _pieces(text, m.start(), m.end()):
            if _is_secret(text, start, end):
                edits.add(start, end, NAME)
    names.extend(edits.names)
    return edits.apply(text)


_PIECE_RE: Final = re.compile(r"[^:,=]+=*")  # `key=value`, `host:port`, `a,b`; base64 keeps its padding


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of a run between `:`, `=` and `,`, stripped of punctuation at their ends."""
    out: list[tuple[int, int]] = []
    for m in _PIECE_RE.finditer(text, start, end):
        s, e = m.span()
        while s < e and text[s] in _STRIP:
            s += 1
        while e > s and text[e - 1] in _STRIP and text[e - 1] != "=":
            e -= 1
        if MIN_LENGTH <= e - s <= _MAX:
            out.append((s, e))
    return out


def _is_secret(text: str, start: int, end: int) -> bool:
    token = text[start:end]
    if token.startswith(_ID_PREFIXES) or _UUID_RE.search(token):
        return False
    if text.endswith(";base64,", max(0, start - 8), start):
        return False  # a data: URI (an image), not a credential
    if _HEX_RE.fullmatch(token):
        context = text[max(0, start - 48) : start]
        return _CREDENTIAL_CONTEXT_RE.search(context) is not None and looks_random(token)
    if "/" in token and not _base64_like(token):
        # A path or a URL: random only in a segment of its own (a webhook's token, a capability URL).
        return any(_is_random(seg) for seg in token.split("/") if len(seg) >= MIN_LENGTH and not _HEX_RE.fullmatch(seg))
    return _is_random(token)


def _is_random(token: str) -> bool:
    if token.startswith(_ID_PREFIXES) or _UUID_RE.search(token):
        return False
    segments = [seg for seg in _SEPARATORS_RE.split(token) if seg]
    has_upper = any(c.isupper() for c in token)
    has_lower = any(c.islower() for c in token)
    # A long random segment of one case and digits (NRAK-7JKLYWAIHQ..., pul-<40 hex>, rdme_<70 base36>); one case
    # and digits otherwise are names, versions and dates far more often than secrets.
    if any(_random_one_case(seg, has_prefix=len(segments) > 1) for seg in segments):
        return True
    glued = _GLUED_PREFIX_HEX_RE.fullmatch(token)  # EZAK<54 hex>: a prefix glued to a hex key
    if glued is not None and _random_one_case(glued.group(1), has_prefix=True):
        return True
    if has_upper != has_lower or not has_upper or all(_wordlike(seg) for seg in segments):
        return False  # words and numbers joined (PROTOCOL_SSLv23, win32evtlog.EVENTLOG_ERROR_TYPE)
    letters = [c for c in token if c.isalpha()]
    upper = sum(c.isupper() for c in letters) / len(letters)
    if not 0.2 <= upper <= 0.8:
        return False  # camelCase identifiers (structEndArchive64Locator) have a capital per word
    if sum(1 for a, b in itertools.pairwise(token) if ord(b) - ord(a) == 1) > len(token) // 4:
        return False  # an alphabet (ABCDEFGHIJ..., 0123456789...)
    return looks_random(token.rstrip("="))


def _wordlike(segment: str) -> bool:
    """A few words of two letters or more (SSLMethod, win32evtlog, v23); random text splits into one-letter bits."""
    if len(segment) < 3:
        return True
    words = _NAME_WORDS_RE.findall(segment)
    return len(words) <= 4 and sum(map(len, words)) == len(segment) and all(len(w) >= 2 for w in words)


def _random_one_case(segment: str, *, has_prefix: bool) -> bool:
    """A segment of one case and digits that is random: long, both letters and digits, high entropy. Pure hex
    only after a prefix (`pul-`, `sbp_`): alone, a hex string is a digest."""
    if len(segment) < 24 or (any(c.isupper() for c in segment) and any(c.islower() for c in segment)):
        return False
    digits = sum(c.isdigit() for c in segment)
    if _HEX_RE.fullmatch(segment):  # 10 of 16 hex digits are digits
        return has_prefix and 0.3 * len(segment) <= digits <= 0.9 * len(segment) and looks_random(segment, 24)
    if not max(2, 0.05 * len(segment)) <= digits <= 0.7 * len(segment):
        return False
    if sum(1 for a, b in itertools.pairwise(segment) if ord(b) - ord(a) == 1) > len(segment) // 4:
        return False  # an alphabet
    return shannon_entropy(segment) >= 0.8 * math.log2(min(len(segment), 36))


def _base64_like(token: str) -> bool:
    # Base64 has "/" anywhere, one segment after another of random characters; a path has words between them.
    segments = [s for s in token.split("/") if s]
    return (
        len(segments) >= 2
        and sum(len(s) for s in segments) >= MIN_LENGTH
        and all(any(c.isdigit() for c in s) or any(c.isupper() for c in s) for s in segments if len(s) >= 4)
    )
