"""Drives the event processor in-process over fixture sessions, with injected providers."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from otel_claude.cli.replay import to_ns
from otel_claude.live.events import parse_hook_input
from otel_claude.live.metrics import HookMetrics
from otel_claude.live.processor import EventProcessor, UsageTracker
from otel_claude.live.span_factory import ProcessorSettings, SpanFactory
from otel_claude.live.state import AgentState


def make_processor(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    settings: ProcessorSettings | None = None,
    usage: UsageTracker | None = None,
) -> EventProcessor:
    ctx = SpanFactory(
        tracer_provider.get_tracer("test"),
        HookMetrics(meter_provider.get_meter("test")),
        settings or ProcessorSettings(user_name="dev"),
    )
    return EventProcessor(ctx, AgentState(), usage)


def feed(processor: EventProcessor, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        processor.handle(parse_hook_input(entry["payload"]), to_ns(entry["ts"]))
