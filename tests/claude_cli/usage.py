"""Usage figures for the stand-in's answers, shaped like the real API's and consistent from call to call.

A conversation's first request writes its prompt to the cache; each later one reads what the previous request
held from the cache, writes the difference, and pays full price only for the newest user message, which is how
Claude Code's prompt caching plays out against the real API. The sizes are estimated at 4 bytes of request
JSON per token. A scenario step may set any field explicitly; the rest is estimated.
"""

from __future__ import annotations

import json
from typing import Any

_BYTES_PER_TOKEN = 4


def _tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, ensure_ascii=False)) // _BYTES_PER_TOKEN)


def _requests_1h_cache(body: dict[str, Any]) -> bool:
    return '"ttl": "1h"' in json.dumps(body) or '"ttl":"1h"' in json.dumps(body, separators=(",", ":"))


def estimate_usage(
    body: dict[str, Any],
    content: list[dict[str, Any]],
    previous_prompt_tokens: int,
    explicit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `usage` object of one answer: input, output, cache read and cache write (5 m / 1 h split)."""
    messages = body.get("messages") or []
    prompt = _tokens({"system": body.get("system"), "tools": body.get("tools"), "messages": messages})
    fresh = min(_tokens(messages[-1]) if messages else 1, prompt)
    cache_read = max(0, min(previous_prompt_tokens, prompt - fresh))
    cache_write = max(0, prompt - fresh - cache_read)
    write_5m, write_1h = (0, cache_write) if _requests_1h_cache(body) else (cache_write, 0)
    usage: dict[str, Any] = {
        "input_tokens": fresh,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": _tokens(content) + 8,
    }
    if explicit:
        usage.update({k: int(v) for k, v in explicit.items() if k != "cache_creation"})
        split = explicit.get("cache_creation")
        if split is not None:
            write_5m = int(split.get("ephemeral_5m_input_tokens", 0))
            write_1h = int(split.get("ephemeral_1h_input_tokens", 0))
            usage["cache_creation_input_tokens"] = write_5m + write_1h
        elif "cache_creation_input_tokens" in explicit:
            total = usage["cache_creation_input_tokens"]
            write_5m, write_1h = (0, total) if _requests_1h_cache(body) else (total, 0)
    usage["cache_creation"] = {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h}
    if usage["cache_creation_input_tokens"] != write_5m + write_1h:
        raise ValueError(f"cache_creation_input_tokens does not equal its 5m+1h split: {usage}")
    usage["service_tier"] = "standard"
    return usage
