"""The indexes of held spans and scheduled settle reads by path answer as a search of the state's lists would."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from otel_claude.live import settling
from otel_claude.live.path_index import held_paths, scheduled_paths
from otel_claude.live.state import AgentState, HeldSpan, OpenSpan


class _Finished:
    """Stands in for the SpanFactory: records which spans release_spans finished."""

    def __init__(self) -> None:
        self.span_ids: list[int] = []

    def finish(self, span: OpenSpan, end_ns: int, attributes: Any = None, error: str | None = None) -> None:
        self.span_ids.append(span.span_id)


def _held(span_id: int, path: str) -> HeldSpan:
    span = OpenSpan(name="invoke_agent", trace_id=1, span_id=span_id, start_ns=0)
    return HeldSpan(span=span, end_ns=1, path=path, session_id="s")


def test_release_spans_with_the_index_releases_what_a_search_finds() -> None:
    rng = random.Random(7)
    state, ctx = AgentState(), _Finished()
    paths = [f"/t/{i}.jsonl" for i in range(12)]
    expected: list[HeldSpan] = []  # the reference: a plain list searched each time
    for step in range(3000):
        action = rng.random()
        if action < 0.6:
            held = _held(step, rng.choice(paths))
            settling.hold_span(state, held)
            expected.append(held)
            del expected[: -settling.MAX_HELD_SPANS]
        elif action < 0.95:
            asked = set(rng.sample(paths, rng.randint(1, 3)))
            want = [h.span.span_id for h in expected if h.path in asked]
            ctx.span_ids.clear()
            assert settling.release_spans(ctx, state, asked) == bool(want)  # type: ignore[arg-type]
            assert ctx.span_ids == want
            expected = [h for h in expected if h.path not in asked]
        else:  # the list replaced, as by a snapshot loaded: the index follows the new list
            state = AgentState.model_validate_json(state.model_dump_json())
            expected = list(state.held)
        assert [h.span.span_id for h in state.held] == [h.span.span_id for h in expected]
        assert +held_paths(state)[0] == Counter(h.path for h in expected)
        assert held_paths(state)[1] == [h.path for h in expected]


def test_the_held_spans_overflow_keeps_the_counts() -> None:
    state = AgentState()
    for span_id in range(settling.MAX_HELD_SPANS + 10):
        settling.hold_span(state, _held(span_id, "/a" if span_id < 10 else "/b"))
    assert "/a" not in held_paths(state)[0] and held_paths(state)[0]["/b"] == settling.MAX_HELD_SPANS
    assert not settling.release_spans(_Finished(), state, ["/a"])  # type: ignore[arg-type]


def test_scheduled_paths_follow_the_settles_list() -> None:
    state = AgentState(settles=[(5, "/x"), (6, "/y")])
    assert scheduled_paths(state) == {"/x", "/y"}
    state.settles = [(5, "/x")]  # replaced (a settle read ran): rebuilt
    assert scheduled_paths(state) == {"/x"}
    assert "_settle_index" not in state.model_dump_json() and "_held_index" not in state.model_dump_json()
