"""Every HookInput in the fixtures parses into its model; unknown fields and events are kept, never fatal."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from otel_claude.live.events import MODELS, HookInput, InvalidHookInput, PostToolUseFailure, parse_hook_input

FIXTURE_EVENTS = sorted(p.stem for p in (FIXTURES / "hooks").glob("*.json"))


@pytest.mark.parametrize("event", FIXTURE_EVENTS)
def test_every_fixture_payload_parses_into_its_own_model(event: str) -> None:
    assert event in MODELS, f"no model for {event}"
    for payload in json.loads((FIXTURES / "hooks" / f"{event}.json").read_text()):
        model = parse_hook_input(payload)
        assert type(model) is MODELS[event]
        assert model.session_id == payload["session_id"]
        dumped = model.model_dump()
        assert set(payload) <= set(dumped), "no field of the payload may be lost"


def test_unknown_fields_and_events_are_accepted_and_kept() -> None:
    model = parse_hook_input({"session_id": "s", "hook_event_name": "FutureEvent", "new_field": {"a": [1]}})
    assert type(model) is HookInput
    assert model.extra_fields == {"new_field": {"a": [1]}}
    failure = parse_hook_input(
        {"session_id": "s", "hook_event_name": "PostToolUseFailure", "tool_name": "Bash", "tool_use_id": "t",
         "error": "Exit code 1", "brand_new": True}
    )  # fmt: skip
    assert isinstance(failure, PostToolUseFailure) and failure.extra_fields == {"brand_new": True}


@pytest.mark.parametrize(
    "data",
    [
        [],
        "text",
        {"hook_event_name": "Stop"},
        {"session_id": 7, "hook_event_name": "Stop"},
        {"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash"},
        {"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": ["x"], "tool_use_id": "t"},
    ],
)
def test_unusable_input_raises_with_a_reason(data: object) -> None:
    with pytest.raises(InvalidHookInput) as error:
        parse_hook_input(data)
    assert str(error.value)
