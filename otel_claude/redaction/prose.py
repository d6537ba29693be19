"""`the staging db password is Hunter2...`: a secret-looking word after `<secret word> is|was|to`."""

from __future__ import annotations

import re
from typing import Final

from otel_claude.redaction.edits import Edits, lower_same_length
from otel_claude.redaction.keys import is_placeholder
from otel_claude.redaction.patterns import MARKER_PREFIX
from otel_claude.redaction.values import looks_like_literal_secret

_PROSE_SUBJECTS: Final = (
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "secrets",
    "token",
    "tokens",
    "api key",
    "api_key",
    "apikey",
    "api-key",
    "access key",
    "access_key",
)


def _prose_regex(verb: str) -> re.Pattern[str]:
    # Starts with the literal " is " (or " was "), so the engine jumps between those; which word stands
    # before it is checked with fixed-width lookbehinds, one per word.
    subjects = "|".join(rf"(?<=\b{re.escape(w)} {verb} )" for w in _PROSE_SUBJECTS)
    return re.compile(rf" {verb} (?:{subjects})(?:now )?(?:set to )?")


_PROSE_RES: Final = (_prose_regex("is"), _prose_regex("was"), _prose_regex("to"))  # "set the password to ..."
_PROSE_VALUE_RE: Final = re.compile(r"[\"'`]?(?P<v>[^\s\"'`]{6,256})")


def scrub_prose(text: str, names: list[str], low: str | None = None) -> str:
    """Redact the value in `<secret word> is <value>`; append the names of what fired to `names`."""
    if low is None:
        low = lower_same_length(text)
    if " is " not in low and " was " not in low and " to " not in low:
        return text
    edits = Edits()
    for end in sorted(m.end() for regex in _PROSE_RES for m in regex.finditer(low)):
        vm = _PROSE_VALUE_RE.match(text, end)
        if vm is None:
            continue
        value = vm.group("v").rstrip(".,;:!?)]}")
        if value.startswith(MARKER_PREFIX) or is_placeholder(value) or not looks_like_literal_secret(value):
            continue
        edits.add(vm.start("v"), vm.start("v") + len(value), "generic_secret")
    names.extend(edits.names)
    return edits.apply(text)
