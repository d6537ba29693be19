"""The oracle for tests/cost/test_reader_equivalence.py: transcripts/lines.py as it was before the reader's speed
work (commit 8b8ffd7), unchanged but for this docstring and its imports of the old value parsers. Not to be edited to
follow the package: the point is that the package's faster parser gives what this one gave, on every input."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from cost.reference.old_values import parse_timestamp_ns, usage_from_json
from otel_claude.transcripts import notice_lines
from otel_claude.transcripts.model import (
    ApiError,
    CostState,
    Interrupt,
    LlmCall,
    RefusedCall,
    cost_state_from_json,
)

_log = logging.getLogger(__name__)


def _fast_loads() -> Callable[[bytes], Any]:
    """orjson's parser where installed (a dependency; several times the standard library's speed), else json's."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency, but a missing wheel must not break reading
        return json.loads
    return orjson.loads


_loads = _fast_loads()

_HEAD = 4096  # top-level keys come before `message` / `params`, within the first bytes of a line
_PROMPT_ID = re.compile(rb'"promptId":"([^"\\]{1,128})"')
_USAGE = b'"usage"'
_REQUEST_ID = re.compile(rb'"id":"([^"\\]{1,128})"')
_TIMESTAMP = re.compile(rb'"timestamp":"([^"\\]{1,64})"')
_MAX_PENDING_REQUESTS = 32
_CLAUDE_CODE_VERSION = re.compile(rb'"version":"(\d{1,4}\.\d{1,4}\.\d{1,6}[^"\\]{0,32})"')
_TYPE_KEY = b'"type":"'
_MAX_TOOL_USES = 64
SYNTHETIC_MODEL = "<synthetic>"


def _types(line: bytes) -> tuple[bool, bool, bool]:
    """Whether the line's first _HEAD bytes hold `"type":"user"`, `"type":"assistant"`, `"type":"api-request"`."""
    user = assistant = api_request = False
    at = line.find(_TYPE_KEY, 0, _HEAD)
    while at >= 0:
        value = at + len(_TYPE_KEY)
        # startswith's end bound: the whole needle within the head, as `in line[:_HEAD]` required
        user = user or line.startswith(b'user"', value, _HEAD)
        assistant = assistant or line.startswith(b'assistant"', value, _HEAD)
        api_request = api_request or line.startswith(b'api-request"', value, _HEAD)
        at = line.find(_TYPE_KEY, at + 1, _HEAD)
    return user, assistant, api_request


class LineParser:
    """Parses the lines of one transcript in order; `context()` is what the cursor keeps for the next read."""

    def __init__(
        self,
        path: str,
        context: Mapping[str, Any] | None = None,
        *,
        skip_repeats: bool = False,
        calls_only: bool = False,
        cost_states: bool = True,
    ) -> None:
        """`skip_repeats`: for a caller that deduplicates (ccusage's rules), a line that repeats the previous call's
        message id, request id, sidechain flag and usage exactly yields nothing; the dedup would keep the first.
        `calls_only`: for a caller that wants LLM calls, cost states and failed requests alone (backfill): stopped
        and refused tool calls are not returned; the calls are those of a full read. Cost-state and failed-request
        lines are rare (one per run, one per failure), so decoding them costs nothing measurable."""
        context = context or {}
        self._path = path
        self._skip_repeats = skip_repeats
        self._calls_only = calls_only
        self._cost_states = cost_states  # False: a cost-state line closes a response and is not decoded
        self._last: tuple[Any, ...] | None = None
        self.prompt_id: str | None = _str(context.get("prompt_id"))
        self.claude_code_version: str | None = _str(context.get("version"))  # the CLI that wrote the last user line
        requests = context.get("requests")
        self._requests: dict[str, int] = (
            {k: v for k, v in requests.items() if isinstance(k, str) and isinstance(v, int)}
            if isinstance(requests, dict)
            else {}
        )
        last_cost = context.get("last_cost")
        self._last_cost: dict[str, float] = (
            {k: float(v) for k, v in last_cost.items() if isinstance(k, str) and isinstance(v, int | float)}
            if isinstance(last_cost, dict)
            else {}
        )
        self.bad_lines = 0
        # The response whose lines are being read (key, last line's timestamp): a response is written one line per
        # content block, so its end is the last of them, known once a closing line follows.
        self.open_message: tuple[tuple[str, ...], int] | None = open_message(context)
        self.closed_messages: list[tuple[tuple[str, ...], int]] = []  # (key, last line's timestamp), in order
        uses = context.get("tool_uses")
        # The recent tool_use blocks, id -> [tool name, line time]: what a refused call's result line lacks.
        self._tool_uses: dict[str, list[Any]] = (
            {k: v for k, v in uses.items() if isinstance(v, list) and len(v) == 2} if isinstance(uses, dict) else {}
        )

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if self.prompt_id:
            context["prompt_id"] = self.prompt_id
        if self.claude_code_version:
            context["version"] = self.claude_code_version
        if self._requests:
            context["requests"] = dict(self._requests)
        if self._last_cost:
            context["last_cost"] = dict(self._last_cost)
        if self.open_message is not None:
            context["open_message"] = [list(self.open_message[0]), self.open_message[1]]
        if self._tool_uses:
            context["tool_uses"] = dict(self._tool_uses)
        return context

    def _close_open_message(self) -> None:
        if self.open_message is not None:
            self.closed_messages.append(self.open_message)
            self.open_message = None

    def _extend_message(self, call: LlmCall) -> None:
        if self.open_message is not None and self.open_message[0] == call.key:
            self.open_message = (call.key, max(self.open_message[1], call.timestamp_ns))
            return
        self._close_open_message()
        self.open_message = (call.key, call.timestamp_ns)

    def parse(self, line: bytes, offset: int) -> LlmCall | CostState | Interrupt | ApiError | RefusedCall | None:
        # One scan of the line for the key (inside a JSON string the quotes would be escaped, `\"usage\"`, no match).
        carries_usage = _USAGE in line
        if carries_usage:
            data = self._json(line)
            call = self._llm_call(data, offset) if data is not None else None
            if call is not None:
                self._extend_message(call)
                self._note_tool_uses(data, call.timestamp_ns)
                return call
            if b'"isApiErrorMessage":true' in line:
                self._close_open_message()
                return notice_lines.api_error(data, offset, self._requests, self.prompt_id)
        # Only the line's first _HEAD bytes are looked at, in place (find's and search's bounds: no copy of them).
        # Lines after which no more content block of the response before them can come: the tool results or next
        # prompt, the next response or request, Claude Code's cost line. Bookkeeping lines (attachment, atis-latch,
        # tools-used) can fall between two blocks of one response and close nothing. Each `"type":"..."` of the head
        # is looked at in one pass (a search per type was a pass over the head each, and this runs per line).
        cost_state = line.find(b'"cost-state"', 0, _HEAD) >= 0
        user, assistant, api_request = _types(line)
        if user or assistant or api_request or cost_state:
            if user and line.find(notice_lines.STOPPED_STREAM_MARK, 0, _HEAD) >= 0:
                stopped = self._stopped_stream(self._json(line), offset)
                if stopped is not None:
                    self._close_open_message()
                    return None if self._calls_only else stopped
            self._close_open_message()
        if carries_usage:
            return None
        if cost_state:
            return self._cost_state(self._json(line), offset) if self._cost_states else None
        if api_request:
            self._note_request(line[:_HEAD])
            return None
        if user:
            version = _CLAUDE_CODE_VERSION.search(line, 0, _HEAD)
            if version:
                self.claude_code_version = version.group(1).decode("utf-8", "replace")
            # Rare lines, read in every mode: one that stops or refuses a tool call does not set the turn's prompt
            # id below, and calls-only reads must give the calls the same prompt ids.
            if line.find(notice_lines.REJECTED_MARK, 0, _HEAD) >= 0:
                interrupt = notice_lines.interrupt(self._json(line), offset)
                if interrupt is not None:
                    return None if self._calls_only else interrupt
            if line.find(notice_lines.TOOL_USE_ERROR_MARK, 0, _HEAD) >= 0:
                refused = notice_lines.refused(self._json(line), offset, self._tool_uses, self.prompt_id)
                if refused is not None:
                    return None if self._calls_only else refused
        match = _PROMPT_ID.search(line, 0, _HEAD)
        if match:
            self.prompt_id = match.group(1).decode("utf-8", "replace")
        elif not line[:64].lstrip().startswith(b"{"):  # not the whole line: lstrip would copy it
            self.bad_lines += 1
        return None

    def _json(self, line: bytes) -> dict[str, Any] | None:
        try:
            data = _loads(line)
        except (ValueError, RecursionError):
            # orjson refuses what json accepts (an escaped lone surrogate in a cut-off emoji): ask json before
            # giving up on a line that may carry usage.
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                self.bad_lines += 1
                return None
        return data if isinstance(data, dict) else None

    def _note_request(self, head: bytes) -> None:
        request = _REQUEST_ID.search(head)
        stamp = _TIMESTAMP.search(head)
        if not request or not stamp:
            return
        sent = parse_timestamp_ns(stamp.group(1).decode("ascii", "replace"))
        if sent is None:
            return
        self._requests[request.group(1).decode("utf-8", "replace")] = sent
        while len(self._requests) > _MAX_PENDING_REQUESTS:
            del self._requests[next(iter(self._requests))]

    def _llm_call(self, data: dict[str, Any], offset: int) -> LlmCall | None:
        # Every line with usage comes here: plain dict lookups and `type(...) is` tests, no helper per field.
        get = data.get
        prompt_id = get("promptId")
        if type(prompt_id) is str and prompt_id:
            self.prompt_id = prompt_id
        message = get("message")
        if type(message) is not dict:
            return None
        raw_usage = message.get("usage")
        model = message.get("model")
        if type(raw_usage) is not dict or type(model) is not str or not model or model == SYNTHETIC_MODEL:
            return None
        message_id, request_id, sidechain = message.get("id"), get("requestId"), get("isSidechain") is True
        # Claude Code writes a response once per content block, with the same usage: the repeat needs no call built.
        repeat_key = (message_id, request_id, sidechain, model, raw_usage)
        if self._skip_repeats and message_id and repeat_key == self._last and self.open_message is not None:
            # The response's own later line: no call to build, but the response lasts until this line.
            timestamp = parse_timestamp_ns(get("timestamp"))
            if timestamp is not None:
                self.open_message = (self.open_message[0], max(self.open_message[1], timestamp))
                self._note_tool_uses(data, timestamp)  # a content block of its own: its tool_use ids count
            return None
        usage = usage_from_json(raw_usage)
        timestamp = parse_timestamp_ns(get("timestamp"))
        session_id = get("sessionId")
        # Not a transcript line without a session (e.g. `claude -p --output-format stream-json` output).
        if usage is None or timestamp is None or type(session_id) is not str or not session_id:
            return None
        request_ref = get("requestRef")
        sent = None
        if type(request_ref) is str and request_ref:
            sent = self._requests.pop(request_ref, None)
            if sent is not None:
                self._requests[request_ref] = sent  # later lines of the same response need it too
        self._last = repeat_key
        return LlmCall(
            session_id=session_id,
            model=model,
            usage=usage,
            timestamp_ns=timestamp,
            start_ns=sent if sent is not None and sent <= timestamp else timestamp,
            message_id=message_id if type(message_id) is str and message_id else None,
            request_id=request_id if type(request_id) is str and request_id else None,
            requested_model=_str(get("requestedModel")),
            stop_reason=_str(message.get("stop_reason")),
            is_sidechain=sidechain,
            agent_id=_str(get("agentId")),
            prompt_id=self.prompt_id,
            uuid=_str(get("uuid")),
            cwd=_str(get("cwd")),
            path=self._path,
            offset=offset,
        )

    def _note_tool_uses(self, data: dict[str, Any] | None, timestamp: int) -> None:
        message = data.get("message") if data else None
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                self._tool_uses[block["id"]] = [str(block.get("name") or "unknown"), timestamp]
        while len(self._tool_uses) > _MAX_TOOL_USES:
            del self._tool_uses[next(iter(self._tool_uses))]

    def _stopped_stream(self, data: dict[str, Any] | None, offset: int) -> Interrupt | None:
        """Esc while a response streamed: that response lasted until the Esc (its last line came before)."""
        stopped = notice_lines.stopped_stream(data, offset)
        if stopped is None:
            return None
        interrupt, message_id = stopped
        if self.open_message is not None and self.open_message[0][0] == message_id:
            self.open_message = (self.open_message[0], max(self.open_message[1], interrupt.timestamp_ns))
        return interrupt

    def _cost_state(self, data: dict[str, Any] | None, offset: int) -> CostState | None:
        if data is None or data.get("type") != "cost-state":
            return None
        state = cost_state_from_json(data, offset)
        if state is None:
            return None
        delta: dict[str, float] = {}
        for model, usage in state.models.items():
            before = self._last_cost.get(model, 0.0)
            # A total below the last one means Claude Code started counting again (a new process): all of it is new.
            added = usage.cost_usd - before if usage.cost_usd >= before else usage.cost_usd
            if added > 0:
                delta[model] = added
            self._last_cost[model] = usage.cost_usd
        return CostState(
            session_id=state.session_id,
            total_cost_usd=state.total_cost_usd,
            models=state.models,
            has_unknown_model_cost=state.has_unknown_model_cost,
            delta_usd_by_model=delta,
            offset=offset,
            prompt_id=self.prompt_id,
        )


def open_message(context: Mapping[str, Any] | None) -> tuple[tuple[str, ...], int] | None:
    """The response still being written when the cursor stopped, from a cursor's context: (key, last line's time)."""
    raw = (context or {}).get("open_message")
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[0], list) or not isinstance(raw[1], int):
        return None
    return tuple(str(part) for part in raw[0]), raw[1]


def _str(value: Any) -> str | None:
    return value if type(value) is str and value else None
