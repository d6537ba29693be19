"""The Messages API stand-in on its own, over HTTP, without the CLI (fast; no marker needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .fake_anthropic import FakeAnthropic
from .scenario import load_scenario
from .sse import stream_events
from .usage import estimate_usage

SCENARIO = {
    "description": "unit",
    "responses": [
        {
            "conversation": "MAIN_X",
            "content": [
                {"type": "text", "text": "Starting a long explanation here."},
                {"type": "tool_use", "name": "Bash", "input": {"command": "echo {{word}}"}},
            ],
        },
        {
            "conversation": "SUB_X",
            "content": [{"type": "text", "text": "sub answer"}],
            "usage": {
                "input_tokens": 7,
                "output_tokens": 3,
                "cache_read_input_tokens": 100,
                "cache_creation": {"ephemeral_5m_input_tokens": 5, "ephemeral_1h_input_tokens": 6},
            },
        },
        {"conversation": "MAIN_X", "content": [{"type": "text", "text": "done"}]},
    ],
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeAnthropic]:
    path = tmp_path / "unit.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    server = FakeAnthropic(load_scenario(path, {"word": "hi"})).start()
    yield server
    server.stop()


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def _post(api: FakeAnthropic, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        api.base_url + path, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def _reassemble(raw: bytes) -> dict[str, Any]:
    """Rebuild the message from the event stream the way an SDK client does."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for chunk in raw.decode().split("\n\n"):
        if not chunk.strip():
            continue
        event_line, data_line = chunk.split("\n")
        event, data = event_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event
        if event == "message_start":
            message = data["message"]
        elif event == "content_block_start":
            message["content"].append(data["content_block"])
        elif event == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                message["content"][data["index"]]["text"] += delta["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif event == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial.pop(data["index"]))
        elif event == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"] = data["usage"]
    return message


def test_streams_scripted_steps_per_conversation(api: FakeAnthropic) -> None:
    main_first = {"model": "m", "stream": True, "messages": [_user("MAIN_X: go")]}
    status, headers, raw = _post(api, "/v1/messages?beta=true", main_first)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["request-id"].startswith("req_")
    message = _reassemble(raw)
    assert message == api.model_exchanges()[0].response
    assert message["content"][1]["input"] == {"command": "echo hi"}  # placeholder filled
    assert message["stop_reason"] == "tool_use"
    # A subagent's request interleaves: matched by its own marker, even though the main prompt is not in it.
    sub = {"model": "m", "stream": True, "messages": [_user("SUB_X: task"), _user("more")]}
    message = _reassemble(_post(api, "/v1/messages", sub)[2])
    assert message["content"] == [{"type": "text", "text": "sub answer"}]
    assert message["usage"]["cache_creation_input_tokens"] == 11  # the explicit 5m + 1h split
    assert api.unserved_steps() == [("MAIN_X", 1)]
    # Non-streaming: one JSON message.
    status, _, raw = _post(api, "/v1/messages", {"model": "m", "messages": [_user("MAIN_X: go"), _user("again")]})
    assert status == 200 and json.loads(raw)["content"] == [{"type": "text", "text": "done"}]
    assert api.unserved_steps() == []


def test_unclaimed_requests_get_a_canned_answer_and_are_recorded(api: FakeAnthropic) -> None:
    status, _, raw = _post(api, "/v1/messages", {"model": "m", "messages": [_user("write a title")]})
    assert status == 200 and json.loads(raw)["stop_reason"] == "end_turn"
    status, _, raw = _post(api, "/v1/messages/count_tokens", {"model": "m", "messages": [_user("x" * 400)]})
    assert status == 200 and json.loads(raw)["input_tokens"] > 100
    status, _, _ = _post(api, "/v1/other", {})
    assert status == 404
    assert [e.kind for e in api.exchanges] == ["unmatched", "count_tokens", "unknown"]
    assert api.unknown_requests() == api.exchanges[2:]
    assert api.usage_totals()["output"] == api.exchanges[0].response["usage"]["output_tokens"]  # type: ignore[index]


def test_compaction_request_gets_a_summary(api: FakeAnthropic) -> None:
    body = {
        "model": "m",
        "messages": [
            _user("MAIN_X: go"),
            _user("Your task is to create a detailed summary of the conversation so far"),
        ],
    }
    text = json.loads(_post(api, "/v1/messages", body)[2])["content"][0]["text"]
    assert "<summary>" in text and api.exchanges[0].kind == "compact"
    assert api.unserved_steps() == [("MAIN_X", 0), ("MAIN_X", 1), ("SUB_X", 0)]  # a compaction takes no step


def test_usage_reads_back_what_the_previous_request_cached() -> None:
    body: dict[str, Any] = {"system": "s" * 4000, "messages": [_user("hello")]}
    first = estimate_usage(body, [{"type": "text", "text": "ok"}], 0)
    assert first["cache_read_input_tokens"] == 0 and first["cache_creation_input_tokens"] > 900
    prompt = first["input_tokens"] + first["cache_creation_input_tokens"]
    body["messages"] += [{"role": "assistant", "content": "ok"}, _user("next")]
    second = estimate_usage(body, [{"type": "text", "text": "ok"}], prompt)
    assert second["cache_read_input_tokens"] == prompt
    assert second["cache_creation"]["ephemeral_5m_input_tokens"] == second["cache_creation_input_tokens"]
    one_hour = dict(body, system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
    assert estimate_usage(one_hour, [], 0)["cache_creation"]["ephemeral_5m_input_tokens"] == 0


def test_stream_events_order() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "content": [{"type": "text", "text": "x" * 60}],
        "usage": {"input_tokens": 1, "output_tokens": 9},
    }
    names = [chunk.split(b"\n")[0].decode() for chunk in stream_events(message)]
    assert names[:3] == ["event: message_start", "event: ping", "event: content_block_start"]
    assert names.count("event: content_block_delta") == 3  # 60 characters in chunks of 24
    assert names[-3:] == ["event: content_block_stop", "event: message_delta", "event: message_stop"]
