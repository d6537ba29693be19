"""The planted-secret corpus in every field the hook payloads and transcripts carry, in both capture modes.

Each string field of every fixture payload and transcript line gets a planted text (the corpus entries in turn,
so every kind lands in many fields and every field gets many kinds). Then:
- the scrubber, on each document as the agent would export it with capture on (a JSON string), leaves none;
- the agent itself, driven over the fixture sessions and every event type with the planted payloads, exports
  none, with content capture on (content redacted before it is cut) or off (no content at all).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_claude.redaction import scrub_value

from .corpora import Planted, benign_json_documents, leaks, planted_secrets
from .test_exported_fields import Exported, drive

# Every field of every fixture payload and transcript line, planted: the reliability tier (hostile input).
pytestmark = pytest.mark.reliability

# Fields the processor needs to stay ids to build its spans at all; every other field is planted.
_IDENTITY_FIELDS = frozenset(
    {
        "session_id",
        "hook_event_name",
        "tool_use_id",
        "prompt_id",
        "agent_id",
        "transcript_path",
        "agent_transcript_path",
        "cwd",
        "is_interrupt",
        "duration_ms",
    }
)


class _Planter:
    def __init__(self) -> None:
        self._entries = itertools.cycle(planted_secrets())
        self.planted: list[Planted] = []

    def text(self, original: str) -> str:
        entry = next(self._entries)
        self.planted.append(entry)
        return f"{original}\n{entry.text}" if original else entry.text

    def document(self, value: Any, *, top: bool = True, keep: frozenset[str] = frozenset()) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: v if (top and k in keep) else self.document(v, top=False) for k, v in value.items()}
        if isinstance(value, list):
            return [self.document(v, top=False) for v in value]
        return value


def _leaked(planted: list[Planted], output: str) -> list[str]:
    return [f"#{p.id} {p.kind}/{p.context}" for p in {p.id: p for p in planted}.values() if leaks(p.secret, output)]


def test_every_field_of_every_payload_and_transcript_line() -> None:
    planter = _Planter()
    documents = fields = 0
    leaked: list[str] = []
    for origin, document in benign_json_documents():
        before = len(planter.planted)
        planted_doc = planter.document(document)
        new = planter.planted[before:]
        documents += 1
        fields += len(new)
        out, _ = scrub_value(json.dumps(planted_doc))
        leaked.extend(f"{origin}: {item}" for item in _leaked(new, out))
    kinds = {p.kind for p in planter.planted}
    print(f"\nplanted in every field: {documents} documents, {fields} fields, {len(kinds)} kinds, {len(leaked)} leaked")
    assert len(kinds) >= 100 and fields > 10_000
    assert not leaked, "\n".join(leaked[:30])


@pytest.fixture(scope="module")
def planted_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, list[Planted]], dict[str, Exported]]]:
    planter = _Planter()

    def mutate(payload: dict[str, Any]) -> dict[str, Any]:
        return dict(planter.document(payload, keep=_IDENTITY_FIELDS))

    tmp: Path = tmp_path_factory.mktemp("planted")
    runs = {"on": drive(tmp, capture=True, mutate=mutate)}
    planted = {"on": list(planter.planted)}
    runs["off"] = drive(tmp, capture=False, mutate=mutate)
    planted["off"] = planter.planted[len(planted["on"]) :]
    yield planted, runs


@pytest.mark.parametrize("mode", ["off", "on"])
def test_the_agent_exports_no_planted_secret(
    planted_runs: tuple[dict[str, list[Planted]], dict[str, Exported]], mode: str
) -> None:
    planted_by_mode, runs = planted_runs
    planted = planted_by_mode[mode]
    exported = "\n".join(text for _, text in runs[mode].strings())
    leaked = _leaked(planted, exported)
    print(
        f"\ncapture {mode}: {len({p.kind for p in planted})} kinds planted in {len(planted)} payload fields, "
        f"{len(exported):,} characters exported, {len(leaked)} leaked"
    )
    assert len({p.kind for p in planted}) >= 100
    assert not leaked, "\n".join(leaked[:30])
