"""The server-sent events of the Messages API's streaming answer, for one complete message.

message_start (usage with output_tokens 1), ping, per content block content_block_start / content_block_delta
(text_delta or input_json_delta, in small chunks) / content_block_stop, then message_delta with the stop reason
and the whole usage, and message_stop: the order and shapes the real API sends.
"""

from __future__ import annotations

import json
from typing import Any

# Chunk sizes of the streamed deltas: small enough that every block arrives in several events, as it does live.
_TEXT_CHUNK = 24
_JSON_CHUNK = 16


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(message: dict[str, Any]) -> list[bytes]:
    """The server-sent events the real API sends for `message`, in order."""
    usage = message["usage"]
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    events = [_sse("message_start", {"type": "message_start", "message": start}), _sse("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                _sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            text = block["text"]
            for i in range(0, max(len(text), 1), _TEXT_CHUNK):
                delta = {"type": "text_delta", "text": text[i : i + _TEXT_CHUNK]}
                events.append(
                    _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
        elif block["type"] == "tool_use":
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append(
                _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": head})
            )
            raw = json.dumps(block["input"])
            for i in range(0, len(raw), _JSON_CHUNK):
                delta = {"type": "input_json_delta", "partial_json": raw[i : i + _JSON_CHUNK]}
                events.append(
                    _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
        else:
            raise ValueError(f"unsupported content block {block['type']!r}")
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    # The real API repeats the whole usage in message_delta; output_tokens is the final count.
    events.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": usage,
            },
        )
    )
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events
