"""detect-secrets (Yelp's scanner, default plugins and filters) as an oracle: whatever it would call a secret
in the planted corpus is gone once our scrubber has run. It is not our scrubber (docs/redaction.md says why),
but it is a second opinion written by other people, so a kind we forgot and it knows shows up here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_claude.redaction import scrub_value

from .corpora import benign_text_files, planted_secrets

detect_secrets = pytest.importorskip("detect_secrets")
from detect_secrets.settings import default_settings  # noqa: E402

# detect-secrets over the whole corpus (~15 s): the reliability tier, with the other hostile-input corpora.
pytestmark = pytest.mark.reliability


def _flagged_lines(path: Path) -> set[int]:
    collection = detect_secrets.SecretsCollection()
    with default_settings():
        collection.scan_file(str(path))
    return {secret.line_number for _, secret in collection}


def test_detect_secrets_finds_nothing_in_the_scrubbed_corpus(tmp_path: Path) -> None:
    lines: list[str] = []
    owner: list[str] = []  # line number - 1 -> which entry it came from
    for entry in planted_secrets():
        out, _ = scrub_value(entry.text)
        for line in [*out.split("\n"), ""]:
            lines.append(line)
            owner.append(f"#{entry.id} {entry.kind}/{entry.context}")
    raw = tmp_path / "raw.txt"
    raw_owner: list[int] = []  # line number - 1 -> index of the entry
    for i, entry in enumerate(planted_secrets()):
        raw_owner.extend([i] * (entry.text.count("\n") + 2))
    raw.write_text("".join(e.text + "\n\n" for e in planted_secrets()), encoding="utf-8")
    scrubbed = tmp_path / "scrubbed.txt"
    scrubbed.write_text("\n".join(lines), encoding="utf-8")
    before, after = _flagged_lines(raw), _flagged_lines(scrubbed)
    entries = {raw_owner[n - 1] for n in before}
    print(
        f"\ndetect-secrets: flags {len(before)} lines of the planted corpus, in {len(entries)} of "
        f"{len(planted_secrets())} entries; {len(after)} lines after scrubbing"
    )
    assert len(before) > 100, "the oracle finds secrets in the raw corpus (else this test proves nothing)"
    assert not after, "detect-secrets still finds secrets after scrubbing:\n" + "\n".join(
        f"{owner[n - 1]}: {lines[n - 1][:120]!r}" for n in sorted(after)
    )


def test_false_positive_rates_side_by_side(tmp_path: Path) -> None:
    # Not a bar for detect-secrets, a figure for docs/redaction.md: lines each would change on ordinary text.
    total = ours = theirs = 0
    for path in benign_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        copy = tmp_path / path.name
        copy.write_text(text, encoding="utf-8")
        out, _ = scrub_value(text)
        before = text.split("\n")
        total += len(before)
        ours += sum(1 for a, b in zip(before, out.split("\n"), strict=True) if a != b)
        theirs += len(_flagged_lines(copy))
    print(
        f"\nbenign lines: {total}; ours change {ours} ({ours / total:.3%}), detect-secrets flags {theirs} "
        f"({theirs / total:.3%})"
    )
    assert ours <= theirs
