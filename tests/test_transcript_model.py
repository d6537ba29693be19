"""The transcript model's objects travel between processes (backfill's readers): a pickle round trip keeps each
equal, field for field, and goes through the class's constructor."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from otel_claude.transcripts.model import (
    ApiError,
    CostState,
    Interrupt,
    LlmCall,
    ModelUsage,
    RefusedCall,
    Usage,
)

USAGE = Usage(1, 2, 3, 7, 4, 3, "fast", "us", "priority")
OBJECTS = [
    USAGE,
    LlmCall("s", "m", USAGE, 10, 5, "msg", "req", "m2", "end_turn", True, "a", "p", "u", "/w", "f", 99, Usage(1), 12),
    LlmCall("s", "m", Usage(), 10, 5),
    Interrupt(("t1", "t2"), 5, 3, "p"),
    RefusedCall("t", "Bash", 1, 2, "Blocked", "p", 8),
    ApiError("s", 1, 0, "overloaded_error", 529, "req", "msg", "p", "a", 4, "/w"),
    ModelUsage(1, 2, 3, 4, 0.5, 1, 3),
    CostState("s", 1.5, {"m": ModelUsage(1, 2, 3, 4, 0.5)}, False, {"m": 0.25}, 7, "p"),
]


@pytest.mark.parametrize("original", OBJECTS, ids=lambda o: type(o).__name__)
def test_a_pickle_round_trip_gives_an_equal_object_through_the_constructor(original: object) -> None:
    for protocol in (2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        copied = pickle.loads(pickle.dumps(original, protocol=protocol))
        assert copied == original and type(copied) is type(original)
        assert [getattr(copied, f.name) for f in dataclasses.fields(copied)] == [  # type: ignore[arg-type]
            getattr(original, f.name)
            for f in dataclasses.fields(original)  # type: ignore[arg-type]
        ]
    cls, values = original.__reduce__()
    assert cls is type(original) and cls(*values) == original
    assert copy.copy(original) == original and copy.deepcopy(original) == original
