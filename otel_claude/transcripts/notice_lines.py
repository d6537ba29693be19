"""The transcript lines that tell what no hook does: tool calls the user stopped (Esc) or refused, the response
the user stopped while it streamed (Esc, no tool running), tool calls Claude Code refused itself, failed requests.

Each is rare, found by a byte search of the line's first bytes (transcripts/lines.py), then decoded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_claude.transcripts.model import ApiError, Interrupt, RefusedCall
from otel_claude.transcripts.timestamps import parse_timestamp_ns

# The tool result Claude Code writes for a call the user stopped with Esc or refused (2.1.330).
REJECTED = "The user doesn't want to proceed with this tool use"
REJECTED_MARK = REJECTED.encode()
TOOL_USE_ERROR = "<tool_use_error>"  # a call Claude Code refused or could not start (validation, a block)
TOOL_USE_ERROR_MARK = TOOL_USE_ERROR.encode()
# The user line Claude Code writes for an Esc while a response streams (2.1.330), with `interruptedMessageId`; an
# Esc during a tool call writes "[Request interrupted by user for tool use]" instead (the tool result says it all).
STOPPED_STREAM = "[Request interrupted by user]"
STOPPED_STREAM_MARK = STOPPED_STREAM.encode() + b'"'
MAX_REASON_CHARS = 1000


def interrupt(data: dict[str, Any] | None, offset: int) -> Interrupt | None:
    message = data.get("message") if data else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list) or data is None:
        return None
    ids = tuple(
        str(block["tool_use_id"])
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "tool_result"
        and block.get("is_error") is True
        and isinstance(block.get("tool_use_id"), str)
        and isinstance(block.get("content"), str)
        and block["content"].startswith(REJECTED)
    )
    stamp = parse_timestamp_ns(data.get("timestamp"))
    return Interrupt(ids, stamp, offset, _str(data.get("promptId"))) if ids and stamp is not None else None


def stopped_stream(data: dict[str, Any] | None, offset: int) -> tuple[Interrupt, str] | None:
    """The Esc that stopped a streaming response, and that response's message id."""
    message = data.get("message") if data else None
    content = message.get("content") if isinstance(message, dict) else None
    if data is None or not isinstance(content, list):
        return None
    message_id = data.get("interruptedMessageId")
    stamp = parse_timestamp_ns(data.get("timestamp"))
    said = any(isinstance(b, dict) and b.get("type") == "text" and b.get("text") == STOPPED_STREAM for b in content)
    if not said or stamp is None or not isinstance(message_id, str) or not message_id:
        return None
    return Interrupt((), stamp, offset, _str(data.get("promptId"))), message_id


def refused(
    data: dict[str, Any] | None, offset: int, tool_uses: Mapping[str, list[Any]], prompt_id: str | None
) -> RefusedCall | None:
    """A tool call Claude Code refused itself (a `<tool_use_error>` result), with its tool_use line's name and time."""
    message = data.get("message") if data else None
    content = message.get("content") if isinstance(message, dict) else None
    stamp = parse_timestamp_ns(data.get("timestamp")) if data else None
    if not isinstance(content, list) or data is None or stamp is None:
        return None
    for block in content:
        if not (isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error") is True):
            continue
        text, tool_use_id = block.get("content"), block.get("tool_use_id")
        use = tool_uses.get(tool_use_id) if isinstance(tool_use_id, str) else None
        if isinstance(text, str) and text.startswith(TOOL_USE_ERROR) and use and isinstance(tool_use_id, str):
            reason = text.removeprefix(TOOL_USE_ERROR).removesuffix("</tool_use_error>")
            start = use[1] if isinstance(use[1], int) and use[1] <= stamp else stamp
            turn = _str(data.get("promptId")) or prompt_id  # the line's own, else the one read before it
            return RefusedCall(tool_use_id, str(use[0]), start, stamp, reason[:MAX_REASON_CHARS], turn, offset)
    return None


def api_error(
    data: dict[str, Any] | None, offset: int, requests: Mapping[str, int], prompt_id: str | None
) -> ApiError | None:
    """A request that failed (`isApiErrorMessage`): sent at the latest request line before it."""
    if data is None or data.get("isApiErrorMessage") is not True:
        return None
    timestamp = parse_timestamp_ns(data.get("timestamp"))
    session_id = _str(data.get("sessionId"))
    if timestamp is None or session_id is None:
        return None
    sent = [t for t in requests.values() if t <= timestamp]
    status = data.get("apiErrorStatus")
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    return ApiError(
        session_id=session_id,
        timestamp_ns=timestamp,
        start_ns=max(sent) if sent else timestamp,
        error_type=_str(data.get("apiErrorType")) or _str(data.get("error")) or "api_error",
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        request_id=_str(data.get("requestId")),
        message_id=_str(message.get("id")) if isinstance(message, dict) else None,
        prompt_id=prompt_id,
        agent_id=_str(data.get("agentId")),
        offset=offset,
        cwd=_str(data.get("cwd")),
    )


def _str(value: Any) -> str | None:
    return value if type(value) is str and value else None
