"""Turns transcript lines into LLM calls and cost states, carrying the context the next lines need.

Only the lines that can matter are parsed as JSON: assistant lines with `usage`, and `cost-state` lines. The
other lines are looked at with cheap byte searches on their first bytes: the `promptId` of user lines (which turn
the next calls belong to) and the id and time of `api-request` lines (when a request was sent). Tool results,
request blobs and attachments, most of a transcript's bytes, are never decoded.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

from otel_claude.transcripts import notice_lines
from otel_claude.transcripts.line_bytes import (
    API_ERROR,
    API_REQUEST,
    ASSISTANT,
    CLAUDE_CODE_VERSION,
    COST_STATE,
    HEAD,
    PROMPT_ID,
    USAGE,
    USER,
    VERSION_KEY,
    loads,
    request_sent,
    search_from,
)
from otel_claude.transcripts.model import (
    ApiError,
    CostState,
    Interrupt,
    LlmCall,
    RefusedCall,
    cost_state_from_json,
    usage_from_json,
)
from otel_claude.transcripts.timestamps import parse_timestamp_ns

_log = logging.getLogger(__name__)

_MAX_PENDING_REQUESTS = 32
_MAX_TOOL_USES = 64
SYNTHETIC_MODEL = "<synthetic>"


class _Skipped(enum.Enum):
    REPEAT = "repeat"  # a line repeating the open response's call: it extends the response and builds nothing


_REPEAT = _Skipped.REPEAT


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
        key = call.key  # a property that builds a tuple: once
        if self.open_message is not None and self.open_message[0] == key:
            self.open_message = (key, max(self.open_message[1], call.timestamp_ns))
            return
        self._close_open_message()
        self.open_message = (key, call.timestamp_ns)

    def parse(self, line: bytes, offset: int) -> LlmCall | CostState | Interrupt | ApiError | RefusedCall | None:
        return self.parse_in(line, 0, len(line), offset)

    def parse_in(
        self, data: bytes, start: int, end: int, offset: int
    ) -> LlmCall | CostState | Interrupt | ApiError | RefusedCall | None:
        """`parse` of the line `data[start:end]`, searched in place: the reader's buffer is not cut into lines, only
        the lines decoded as JSON are copied out. Every search is bounded by the line's end, or by its head's."""
        find = data.find
        head = min(start + HEAD, end)  # only the line's first HEAD bytes are looked at, but for `"usage"`
        # One scan of the line for the key (inside a JSON string the quotes would be escaped, `\"usage\"`, no match).
        if find(USAGE, start, end) >= 0:
            line = data[start:end]
            decoded = self._json(line)
            call = self._llm_call(decoded, offset) if decoded is not None else None
            if call is _REPEAT:  # the open response's own later line: it goes on, nothing closes
                return None
            if call is not None and decoded is not None:  # (with a call, decoded is a dict, its message too)
                self._extend_message(call)
                self._note_tool_uses(decoded["message"].get("content"), call.timestamp_ns)
                return call
            if find(API_ERROR, start, end) >= 0:
                self._close_open_message()
                return notice_lines.api_error(decoded, offset, self._requests, self.prompt_id)
            user = find(USER, start, head) >= 0
            if user and find(notice_lines.STOPPED_STREAM_MARK, start, head) >= 0:
                stopped = self._stopped_stream(self._json(line), offset)
                if stopped is not None:
                    return None if self._calls_only else stopped
            if (
                user
                or find(ASSISTANT, start, head) >= 0
                or find(API_REQUEST, start, head) >= 0
                or find(COST_STATE, start, head) >= 0
            ):
                self._close_open_message()
            return None
        # Lines after which no more content block of the response before them can come: the tool results or next
        # prompt, the next response or request, Claude Code's cost line. Bookkeeping lines (attachment, atis-latch,
        # tools-used) can fall between two blocks of one response and close nothing. Each search is made only where
        # its answer can change what the line does (a cost-state line is one whatever its type).
        if find(COST_STATE, start, head) >= 0:
            if find(USER, start, head) >= 0 and find(notice_lines.STOPPED_STREAM_MARK, start, head) >= 0:
                stopped = self._stopped_stream(self._json(data[start:end]), offset)
                if stopped is not None:
                    return None if self._calls_only else stopped
            self._close_open_message()
            return self._cost_state(self._json(data[start:end]), offset) if self._cost_states else None
        api_request = find(API_REQUEST, start, head) >= 0
        user = find(USER, start, head) >= 0
        if user:
            if find(notice_lines.STOPPED_STREAM_MARK, start, head) >= 0:
                stopped = self._stopped_stream(self._json(data[start:end]), offset)
                if stopped is not None:
                    return None if self._calls_only else stopped
            self._close_open_message()
        elif api_request or find(ASSISTANT, start, head) >= 0:
            self._close_open_message()
        if api_request:
            self._note_request(data, start, head)
            return None
        if user:
            version = search_from(VERSION_KEY, CLAUDE_CODE_VERSION, data, start, head)
            if version:
                self.claude_code_version = version.group(1).decode("utf-8", "replace")
            # Rare lines, read in every mode: one that stops or refuses a tool call does not set the turn's prompt
            # id below, and calls-only reads must give the calls the same prompt ids. A one-byte search (memchr)
            # for a character of each mark first: most heads hold neither.
            if find(b"'", start, head) >= 0 and find(notice_lines.REJECTED_MARK, start, head) >= 0:
                interrupt = notice_lines.interrupt(self._json(data[start:end]), offset)
                if interrupt is not None:
                    return None if self._calls_only else interrupt
            if find(b"<", start, head) >= 0 and find(notice_lines.TOOL_USE_ERROR_MARK, start, head) >= 0:
                refused = notice_lines.refused(self._json(data[start:end]), offset, self._tool_uses, self.prompt_id)
                if refused is not None:
                    return None if self._calls_only else refused
        match = PROMPT_ID.search(data, start, head)
        if match:
            self.prompt_id = match.group(1).decode("utf-8", "replace")
        elif not data[start : min(start + 64, end)].lstrip().startswith(b"{"):  # not the whole line: lstrip copies
            self.bad_lines += 1
        return None

    def _json(self, line: bytes) -> dict[str, Any] | None:
        try:
            data = loads(line)
        except (ValueError, RecursionError):
            # orjson refuses what json accepts (an escaped lone surrogate in a cut-off emoji): ask json before
            # giving up on a line that may carry usage.
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                self.bad_lines += 1
                return None
        return data if isinstance(data, dict) else None

    def _note_request(self, data: bytes, start: int, head: int) -> None:
        sent = request_sent(data, start, head)
        if sent is not None:
            requests = self._requests
            requests[sent[0]] = sent[1]
            while len(requests) > _MAX_PENDING_REQUESTS:
                del requests[next(iter(requests))]

    def _llm_call(self, data: dict[str, Any], offset: int) -> LlmCall | Literal[_Skipped.REPEAT] | None:
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
        timestamp = parse_timestamp_ns(get("timestamp"))
        session_id = get("sessionId")
        # Not a transcript line without a session (e.g. `claude -p --output-format stream-json` output).
        if timestamp is None or type(session_id) is not str or not session_id:
            return None
        if self._skip_repeats and repeat_key == self._last and self.open_message is not None:
            # The response's own later line (the last call's key, its usage valid as that call's was): no call to
            # build, but the response lasts until this line, as it does where the call is built and the dedup drops it.
            self.open_message = (self.open_message[0], max(self.open_message[1], timestamp))
            self._note_tool_uses(message.get("content"), timestamp)  # a content block's own tool_use ids
            return _REPEAT
        usage = usage_from_json(raw_usage)
        if usage is None:
            return None
        request_ref = get("requestRef")
        sent = None
        if type(request_ref) is str and request_ref:
            sent = self._requests.pop(request_ref, None)
            if sent is not None:
                self._requests[request_ref] = sent  # later lines of the same response need it too
        # Only a call keyed by its message id is repeated by its later lines (other keys differ per line).
        self._last = repeat_key if type(message_id) is str and message_id else None
        requested, stop, agent, uuid, cwd = (
            get("requestedModel"),
            message.get("stop_reason"),
            get("agentId"),
            get("uuid"),
            get("cwd"),
        )
        # Positional, in field order, and `_str` spelled out: this builds every call of a read.
        return LlmCall(
            session_id,
            model,
            usage,
            timestamp,
            sent if sent is not None and sent <= timestamp else timestamp,  # start_ns
            message_id if type(message_id) is str and message_id else None,
            request_id if type(request_id) is str and request_id else None,
            requested if type(requested) is str and requested else None,
            stop if type(stop) is str and stop else None,
            sidechain,
            agent if type(agent) is str and agent else None,
            self.prompt_id,
            uuid if type(uuid) is str and uuid else None,
            cwd if type(cwd) is str and cwd else None,
            self._path,
            offset,
        )

    def _note_tool_uses(self, content: Any, timestamp: int) -> None:
        """The tool_use blocks of a response line's `message.content` (the callers know `message` is a dict)."""
        if not isinstance(content, list):
            return
        uses = self._tool_uses
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                uses[block["id"]] = [str(block.get("name") or "unknown"), timestamp]
        while len(uses) > _MAX_TOOL_USES:
            del uses[next(iter(uses))]

    def _stopped_stream(self, data: dict[str, Any] | None, offset: int) -> Interrupt | None:
        """Esc while a response streamed: that response lasted until the Esc (its last line came before), and ends."""
        stopped = notice_lines.stopped_stream(data, offset)
        if stopped is None:
            return None
        interrupt, message_id = stopped
        if self.open_message is not None and self.open_message[0][0] == message_id:
            self.open_message = (self.open_message[0], max(self.open_message[1], interrupt.timestamp_ns))
        self._close_open_message()
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
