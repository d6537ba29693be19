"""Placeholder wiring for the transcript usage tracker (LLM-call spans, tokens, cost)."""

from __future__ import annotations

from collections.abc import Callable

from otel_claude.config import AgentConfig
from otel_claude.processor import UsageTracker
from otel_claude.span_context import Context


def usage_tracker_factory(config: AgentConfig) -> Callable[[Context], UsageTracker | None]:
    def make(ctx: Context) -> UsageTracker | None:
        return None

    return make
