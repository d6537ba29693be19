"""Properties of scrubbing, over generated inputs: it never raises, never lets a planted secret through,
keeps JSON valid, and is idempotent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_claude.redaction import scrub_value

from .corpora import leaks, planted_secrets

# Secrets that are recognisable wherever they stand: every token format of the corpus, plus self-contained
# snippets of the contextual kinds. (snippet, the part of it that must go)
_TOKENS = [(e.secret, e.secret) for e in planted_secrets() if e.context == "prompt"]
_SNIPPETS = [
    ('password="Hunter47Blue!3"', "Hunter47Blue!3"),
    ("postgres://app:s3cr3tPassw0rd@db.internal:5432/app", "s3cr3tPassw0rd"),
    ("Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAe2ePlantedPrivateKeyBody0123456789\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEAe2ePlantedPrivateKeyBody0123456789",
    ),
    ('{"api_key": "q8ZxV4n2Lm6Pk9Rw1Ys5"}', "q8ZxV4n2Lm6Pk9Rw1Ys5"),
]
PLANTED = _TOKENS + _SNIPPETS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
# Text that looks a little like what Claude Code handles: words, assignments, JSON punctuation, URLs.
code_like = st.lists(
    st.sampled_from(
        [
            "password",
            "token",
            "key",
            "=",
            ": ",
            '"',
            "'",
            "\n",
            " ",
            "export ",
            "API_KEY",
            "://",
            "@",
            "Bearer ",
            "-----BEGIN",
            "eyJ",
            "sk-",
            "{",
            "}",
            "[",
            "]",
            ",",
            "is ",
            "--",
        ]
    )
    | st.text(max_size=8),
    max_size=40,
).map("".join)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text() | code_like)
def test_scrub_never_raises_on_text(text: str) -> None:
    out, names = scrub_value(text)
    assert isinstance(out, str)
    assert (out == text) == (not names)


@SETTINGS
@given(json_values)
def test_scrub_never_raises_on_json_and_keeps_it_valid(value: Any) -> None:
    document = json.dumps(value)
    out, _ = scrub_value(document)
    json.loads(out)
    scrub_value(value)  # the structure itself, not only its JSON text


@SETTINGS
@given(st.text() | code_like, st.integers(min_value=0), st.sampled_from(PLANTED))
def test_a_planted_secret_never_survives(text: str, position: int, planted: tuple[str, str]) -> None:
    snippet, secret = planted
    i = position % (len(text) + 1)
    mixed = f"{text[:i]} {snippet} {text[i:]}"
    out, names = scrub_value(mixed)
    assert not leaks(secret, out), out
    assert names


@SETTINGS
@given(st.text() | code_like, st.integers(min_value=0), st.sampled_from(PLANTED))
def test_a_planted_secret_never_survives_in_json(text: str, position: int, planted: tuple[str, str]) -> None:
    snippet, secret = planted
    i = position % (len(text) + 1)
    document = json.dumps({"tool_input": {"command": f"{text[:i]} {snippet} {text[i:]}"}, "n": 1})
    out, _ = scrub_value(document)
    assert not leaks(json.dumps(secret)[1:-1], out)


@SETTINGS
@given(st.text() | code_like, st.integers(min_value=0), st.sampled_from(PLANTED))
def test_scrub_is_idempotent(text: str, position: int, planted: tuple[str, str]) -> None:
    i = position % (len(text) + 1)
    for value in (text, f"{text[:i]} {planted[0]} {text[i:]}", json.dumps({"a": text, "password": text})):
        once, _ = scrub_value(value)
        assert scrub_value(once)[0] == once
