"""The redactor against two corpora: fake secrets that must all go, and ordinary text that must stay.

Run with `-s` (or `-rP`) to see the measured figures.
"""

from __future__ import annotations

import collections
import json

import pytest

from otel_claude.redaction import command_lines, random_tokens, scrub_value
from otel_claude.redaction.patterns import ALL_PATTERN_NAMES, MARKER_PREFIX

from .corpora import (
    FIXTURES,
    benign_json_documents,
    benign_text_files,
    leaks,
    planted_secrets,
    string_leaves,
)

# Measured before issue 11: 8 of 38,697 lines (0.021 %), all in the standard library's cookie docstrings
# (`Set-Cookie: fig=newton`) and one docstring password. The bar is that figure: the long-tail rules (entropy,
# credential-named keys, command lines) may not buy their catches with false positives. Measured after: 2 lines
# (the docstring password and `secrets.py`'s example of a random token, which is one).
MAX_FALSE_POSITIVE_LINE_RATE = 0.00021
# Every kind issue 11 found leaking, by the corpus' name for it.
LONG_TAIL_KINDS = frozenset(
    {
        "aws_secret_access_key",
        "url_password",
        "signing_salt",
        "encryption_iv",
        "hmac_secret",
        "admin_pin",
        "license_key",
        "sentry_dsn",
        "bearer_token",
        "sshpass_password",
        "docker_login_password",
        "sudo_stdin_password",
        "htpasswd_password",
        "mongo_password",
        "mysql_password",
        "curl_user_password",
        "discord_bot_token",
        "hex_api_key",
        "json_embedded_secret",
    }
)
LONG_TAIL_CONTEXTS = frozenset(
    {"console_csv", "prose", "at_sign", "slash", "colon", "prose_letters", "credentials_list", "response_log"}
)


def test_every_planted_secret_is_removed() -> None:
    corpus = planted_secrets()
    found = 0
    leaked: list[str] = []
    by_kind: collections.Counter[str] = collections.Counter()
    for entry in corpus:
        out, names = scrub_value(entry.text)
        by_kind[entry.kind] += 1
        if leaks(entry.secret, out):
            leaked.append(f"#{entry.id} {entry.kind}/{entry.context}: {out[:200]!r}")
        else:
            found += 1
        assert names, f"#{entry.id}: the secret is gone but no pattern name was reported"
        assert MARKER_PREFIX in out, f"#{entry.id}: no marker says what was removed"
    print(
        f"\nsecret corpus: {len(corpus)} planted secrets of {len(by_kind)} kinds; removed {found}, leaked {len(leaked)}"
    )
    assert len(corpus) >= 150 and len(by_kind) >= 100
    assert LONG_TAIL_KINDS <= set(by_kind), sorted(LONG_TAIL_KINDS - set(by_kind))
    assert LONG_TAIL_CONTEXTS <= {entry.context for entry in corpus}
    assert not leaked, "secrets survived scrubbing:\n" + "\n".join(leaked)


def test_the_corpus_exercises_every_pattern() -> None:
    fired: set[str] = set()
    for entry in planted_secrets():
        fired.update(scrub_value(entry.text)[1])
    # A pattern no fake secret exercises is a pattern nobody has seen work.
    every = ALL_PATTERN_NAMES | {command_lines.NAME, random_tokens.NAME, "credential_assignment"}
    assert every <= fired, f"never fired: {sorted(every - fired)}"


def test_false_positive_rate_on_ordinary_code_and_prose() -> None:
    total = changed = 0
    samples: list[str] = []
    for path in benign_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        out, _ = scrub_value(text)
        before, after = text.split("\n"), out.split("\n")
        assert len(before) == len(after), f"{path.name}: scrubbing changed the number of lines"
        total += len(before)
        for old, new in zip(before, after, strict=True):
            if old != new:
                changed += 1
                samples.append(f"{path.name}: {old.strip()[:100]!r}")
    rate = changed / total
    print(f"\nbenign text: {len(benign_text_files())} files, {total} lines, {changed} changed ({rate:.3%})")
    assert total > 20_000
    assert rate <= MAX_FALSE_POSITIVE_LINE_RATE, "\n".join(samples)


def test_fixture_payloads_and_transcripts_pass_untouched() -> None:
    # Real Claude Code payloads, as the agent exports them with content capture on: ids, paths, model names,
    # prompts and tool I/O of the recorded sessions hold no secret, so no string in them may change.
    documents = leaves = 0
    changed: list[str] = []
    for origin, document in benign_json_documents():
        documents += 1
        leaves += sum(1 for _ in string_leaves(document))
        out, names = scrub_value(json.dumps(document))
        if names:
            new = json.loads(out)
            for old_leaf, new_leaf in zip(string_leaves(document), string_leaves(new), strict=True):
                if old_leaf != new_leaf:
                    changed.append(f"{origin}: {old_leaf[:100]!r} -> {new_leaf[:100]!r}")
    print(f"\nbenign JSON: {documents} documents, {leaves} string values, {len(changed)} changed")
    assert documents > 500
    assert not changed, "\n".join(changed)


@pytest.mark.parametrize(
    "value",
    [
        "toolu_019aece0a97c49305cc5975b",
        "msg_01XFDUDYJgAACzvnptvVoYEL",
        "req_011CUaHq7bDk5P3x9YzW2mNc",
        "c77f9869-7342-4145-9251-6b7551d2e158",
        "claude-opus-4-1-20250805",
        "claude-sonnet-4-5-20250929",
        "claude-opus-5-5",
        "3f2a9c1e5b7d4f60a8e2c91d0b3e5f7a9c1d2e4f",
        "/home/dev/.claude/projects/-home-dev-project/c77f9869-7342-4145-9251-6b7551d2e158.jsonl",
        "sha256:9b2c4e6f8a0d1c3e5f7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a",
        "input_tokens=2496 output_tokens=61 max_tokens=32000",
        "The Bearer authentication scheme uses a token; the password is required.",
        "agent-a41fc636f1a39f973",
    ],
)
def test_ids_and_names_survive(value: str) -> None:
    assert scrub_value(value) == (value, [])
    assert scrub_value(f"see {value} here")[0] == f"see {value} here"


def test_fixture_ids_and_model_names_survive_in_payloads() -> None:
    payloads = json.loads((FIXTURES / "hooks" / "PostToolUse.json").read_text(encoding="utf-8"))
    for payload in payloads:
        text = json.dumps({**payload, "model": "claude-opus-5-5"})
        out, names = scrub_value(text)
        assert names == [] and out == text
        for key in ("session_id", "tool_use_id", "prompt_id", "transcript_path", "model"):
            if key in payload:
                assert str(payload[key]) in out
