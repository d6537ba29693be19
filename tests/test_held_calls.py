"""A held LLM call's span is the same whether it is built from the call the agent holds or from the snapshot's dict."""

from __future__ import annotations

from typing import Any

from otel_claude.export.span_emitter import FinishedSpan
from otel_claude.live import settling
from otel_claude.live.span_factory import ProcessorSettings
from otel_claude.live.state import AgentState, TranscriptState
from otel_claude.transcripts.cost import cost_of_call
from otel_claude.transcripts.model import LlmCall, Usage
from otel_claude.transcripts.prices import load_table

PATH = "/t/s.jsonl"


class _Emitted:
    """Stands in for the SpanFactory: keeps the spans emitted."""

    def __init__(self) -> None:
        self.settings = ProcessorSettings(user_name="dev")
        self.spans: list[FinishedSpan] = []

    def emit(self, span: FinishedSpan) -> None:
        self.spans.append(span)


def _calls() -> list[LlmCall]:
    usage = Usage(input_tokens=12, output_tokens=340, cache_read_tokens=5000, cache_creation_tokens=700, speed="fast")
    return [
        LlmCall("s", "claude-opus-4-1", usage, 2_000_000_000, 1_000_000_000, message_id="m1", request_id="r1"),
        LlmCall("s", "claude-sonnet-4-5", Usage(input_tokens=3), 4_000_000_000, 3_000_000_000, uuid="u2", path=PATH),
        LlmCall("s", "no-such-model", Usage(output_tokens=9), 6_000_000_000, 5_000_000_000, message_id="m3"),
    ]


def _emitted(reload: bool, with_cost: bool) -> list[FinishedSpan]:
    prices = load_table({})
    state = AgentState(transcripts={PATH: TranscriptState(session_id="s", project="p")})
    ctx: Any = _Emitted()
    for index, call in enumerate(_calls()):
        cost = cost_of_call(call.usage, call.model, call.timestamp_ns, prices) if with_cost else None
        entry = state.transcripts[PATH]
        settling.hold_call(ctx, entry, call, 7, index or None, prices, {"k": index}, cost)
    if reload:  # a restarted agent: the held calls come from the snapshot's dicts
        state = AgentState.model_validate_json(state.model_dump_json())
        assert all(pending._made is None for pending in state.transcripts[PATH].pending)
    entry = state.transcripts[PATH]
    settling.release_calls(ctx, entry, [(_calls()[0].key, 9_000_000_000)], prices)  # its last line: a later end
    settling.release_calls(ctx, entry, (), prices, everything=True)
    spans: list[FinishedSpan] = ctx.spans
    return spans


def test_a_held_call_emits_the_same_span_from_memory_as_from_the_snapshot() -> None:
    from_snapshot = _emitted(reload=True, with_cost=True)
    assert len(from_snapshot) == 3 and from_snapshot[0].end_ns == 9_000_000_000
    assert _emitted(reload=False, with_cost=True) == from_snapshot
    assert _emitted(reload=False, with_cost=False) == from_snapshot
