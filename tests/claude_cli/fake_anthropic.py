"""A scripted stand-in of the Anthropic Messages API for driving the real Claude Code CLI offline.

It answers `POST /v1/messages` (with or without `?beta=true`) with the server-sent events of the real API
(message_start, content_block_start/delta/stop with text_delta and input_json_delta, message_delta with usage,
message_stop), or with one JSON message when the request does not stream. The responses come from a scenario
(see `scenario.py`): each step is the answer to the next model request of one conversation, and a conversation
is recognised by its marker string in the request's user messages, so requests of a subagent and of its parent,
or of two sessions at once, interleave freely. Requests no step claims (title or classifier calls, a step list
that ran out) get a short canned text, so the CLI never hangs. Everything is recorded: each request with the
conversation and step it matched, and each response with the usage it reported, which is what the tests compare
otel-claude's token and cost totals against.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .scenario import COMPACT_MARKERS, Scenario, Step
from .sse import stream_events
from .usage import estimate_usage

logger = logging.getLogger(__name__)


@dataclass
class Exchange:
    """One request the stand-in received and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    received_at: float
    conversation: str | None = None
    step_index: int | None = None
    kind: str = "unknown"  # messages | compact | unmatched | count_tokens | probe | unknown (answered 404)
    response: dict[str, Any] | None = None  # the whole message sent back (with its usage)
    request_id: str | None = None
    block_delay_ms: int = 0  # the pause before each content block after the first, while streaming


@dataclass
class _Cursor:
    next_step: int = 0
    prompt_tokens: int = 0  # the previous request's prompt size, what the next one reads from the cache


@dataclass
class FakeAnthropic:
    """The server; `start()` binds 127.0.0.1 on a free port, `base_url` goes into ANTHROPIC_BASE_URL."""

    scenario: Scenario
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cursors: dict[str, _Cursor] = field(default_factory=dict)
    _asked: threading.Condition = field(default_factory=threading.Condition)  # a conversation made its first request
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeAnthropic:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def reset(self) -> None:
        """Forget the requests and start every conversation over: the scenario can run again."""
        with self._lock:
            self.exchanges.clear()
            self._cursors.clear()

    # --- what the tests read ---------------------------------------------------------------------
    def model_exchanges(self) -> list[Exchange]:
        """The Messages API calls that produced a model response (scripted, compaction, or canned)."""
        with self._lock:
            return [e for e in self.exchanges if e.response is not None and e.kind != "count_tokens"]

    def unknown_requests(self) -> list[Exchange]:
        """Requests for endpoints the stand-in does not know (answered 404): a CLI that wants something new."""
        with self._lock:
            return [e for e in self.exchanges if e.kind == "unknown"]

    def unserved_steps(self) -> list[tuple[str, int]]:
        """Scenario steps no request consumed: a scenario that did not run as written."""
        with self._lock:
            left: list[tuple[str, int]] = []
            for conv, steps in self.scenario.conversations().items():
                used = self._cursors.get(conv, _Cursor()).next_step
                left.extend((conv, i) for i in range(used, len(steps)))
            return left

    def usage_totals(self) -> dict[str, int]:
        """Sums over every model response, the compaction summary included (Claude Code's own totals count it)."""
        totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0, "cache_5m": 0, "cache_1h": 0}
        for ex in self.model_exchanges():
            assert ex.response is not None
            u = ex.response["usage"]
            totals["input"] += u["input_tokens"]
            totals["output"] += u["output_tokens"]
            totals["cache_read"] += u["cache_read_input_tokens"]
            totals["cache_creation"] += u["cache_creation_input_tokens"]
            totals["cache_5m"] += u["cache_creation"]["ephemeral_5m_input_tokens"]
            totals["cache_1h"] += u["cache_creation"]["ephemeral_1h_input_tokens"]
        return totals

    # --- request handling --------------------------------------------------------------------------
    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _has_asked(self, conversation: str | None) -> bool:
        with self._lock:
            return conversation in self._cursors

    def answer_messages(self, exchange: Exchange) -> dict[str, Any]:
        """Choose and build the message for one Messages API request (called on the handler's thread)."""
        body = exchange.body or {}
        model = str(body.get("model") or "claude-opus-5-5")
        with self._lock:
            conv = self.scenario.conversation_of(body)
            kind = "compact" if _is_compaction(body) else "messages"
            step: Step | None = None
            cursor = self._cursors.setdefault(conv or "", _Cursor())
            if conv is not None and kind == "messages":
                steps = self.scenario.conversations()[conv]
                if cursor.next_step < len(steps):
                    step = steps[cursor.next_step]
                    exchange.step_index = cursor.next_step
                    cursor.next_step += 1
            if step is None and kind == "messages":
                kind = "unmatched"
            exchange.conversation, exchange.kind = conv, kind
            content = _content_for(step, kind, self.scenario)
            usage = estimate_usage(body, content, cursor.prompt_tokens, step.usage if step else None)
            cursor.prompt_tokens = (
                usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
            )
        has_tool = any(block["type"] == "tool_use" for block in content)
        message = {
            "id": "msg_01" + uuid.uuid4().hex[:22],
            "type": "message",
            "role": "assistant",
            "model": (step.model if step and step.model else model),
            "content": content,
            "stop_reason": (
                step.stop_reason if step and step.stop_reason else ("tool_use" if has_tool else "end_turn")
            ),
            "stop_sequence": None,
            "usage": usage,
        }
        exchange.response = message
        exchange.request_id = "req_fake_" + uuid.uuid4().hex[:20]
        exchange.block_delay_ms = step.block_delay_ms if step else 0
        with self._asked:
            self._asked.notify_all()
            if step is not None and step.after_conversation is not None:
                # Two sessions made to overlap whatever the machine's load: this answer waits for the other's prompt.
                self._asked.wait_for(lambda: self._has_asked(step.after_conversation), timeout=60)
        delay = step.delay_ms if step else 0
        if delay:
            time.sleep(delay / 1000.0)  # the model's "thinking time", so LLM-call spans have a duration
        return message


def _is_compaction(body: dict[str, Any]) -> bool:
    """The summarising request of /compact (or auto-compaction): its last user message asks for a summary."""
    messages = body.get("messages") or []
    if not messages:
        return False
    last = json.dumps(messages[-1].get("content", ""))
    return any(marker in last for marker in COMPACT_MARKERS)


def _content_for(step: Step | None, kind: str, scenario: Scenario) -> list[dict[str, Any]]:
    if step is not None:
        return step.content_blocks()
    if kind == "compact":
        # The CLI asks again, more strictly, when the answer lacks the <summary> block.
        text = f"<analysis>Nothing to add.</analysis>\n<summary>{scenario.compact_summary}</summary>"
        return [{"type": "text", "text": text}]
    return [{"type": "text", "text": "Done."}]


def _make_handler(api: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake-anthropic: " + format, *args)

        def _read_body(self) -> dict[str, Any] | None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                parsed = json.loads(raw)
            except ValueError:
                return {"_raw": raw.decode("utf-8", "replace")}
            return parsed if isinstance(parsed, dict) else {"_raw": parsed}

        def _send_json(self, status: int, payload: dict[str, Any], request_id: str | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if request_id:
                self.send_header("request-id", request_id)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _handle(self) -> None:
            exchange = Exchange(self.command, self.path, dict(self.headers.items()), self._read_body(), time.time())
            api._record(exchange)
            path = self.path.split("?", 1)[0].rstrip("/")
            if self.command == "POST" and path == "/v1/messages/count_tokens":
                exchange.kind = "count_tokens"
                tokens = max(1, len(json.dumps(exchange.body or {})) // 4)
                self._send_json(200, {"input_tokens": tokens})
            elif self.command == "POST" and path == "/v1/messages":
                message = api.answer_messages(exchange)
                if (exchange.body or {}).get("stream"):
                    self._stream(message, exchange.request_id, exchange.block_delay_ms)
                else:
                    self._send_json(200, message, exchange.request_id)
            elif self.command in ("HEAD", "GET") and path == "":
                # Older CLIs probe the base URL for connectivity before the first request.
                exchange.kind = "probe"
                self._send_json(200, {})
            else:
                self._send_json(
                    404,
                    {
                        "type": "error",
                        "error": {"type": "not_found_error", "message": f"stand-in: no {self.command} {path}"},
                    },
                )

        def _stream(self, message: dict[str, Any], request_id: str | None, block_delay_ms: int = 0) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            if request_id:
                self.send_header("request-id", request_id)
            self.send_header("connection", "close")
            self.end_headers()
            for chunk in stream_events(message):
                if block_delay_ms and chunk.startswith(b"event: content_block_start") and b'"index": 0,' not in chunk:
                    time.sleep(block_delay_ms / 1000.0)  # a large block still streaming after the one before
                self.wfile.write(chunk)
                self.wfile.flush()
            self.close_connection = True

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

    return Handler
