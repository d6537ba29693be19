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


def test_set_through_slots_keeps_the_dataclass_signature_and_defaults() -> None:
    import inspect

    from otel_claude.transcripts.slotted import set_through_slots

    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:  # the dataclass's own __init__, for comparison
        a: int
        b: str | None = None
        c: int = 3

    @set_through_slots
    @dataclasses.dataclass(frozen=True, slots=True)
    class Fast:
        a: int
        b: str | None = None
        c: int = 3

    assert str(inspect.signature(Fast)) == str(inspect.signature(Plain))
    assert [getattr(Fast(1, c=5), n) for n in "abc"] == [getattr(Plain(1, c=5), n) for n in "abc"] == [1, None, 5]
    assert Fast(2) == Fast(a=2, b=None, c=3) and hash(Fast(2)) == hash(Fast(2))
    with pytest.raises(TypeError):
        Fast()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Fast(1, d=2)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Fast(1).a = 2  # type: ignore[misc]


@pytest.mark.parametrize("cls", [Usage, LlmCall])
def test_model_classes_set_through_slots_build_what_their_fields_say(cls: type) -> None:
    """Usage and LlmCall are built by `set_through_slots`: every field as given, every default the dataclass's,
    and the object frozen, hashable and compared field by field."""
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    for original in (o for o in OBJECTS if type(o) is cls):
        values = {f.name: getattr(original, f.name) for f in dataclasses.fields(original)}  # type: ignore[arg-type]
        assert cls(**values) == original and cls(*values.values()) == original
        assert hash(cls(**values)) == hash(original)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(original, dataclasses.fields(original)[0].name, None)  # type: ignore[arg-type]
    defaults = cls(*(["s", "m", Usage(), 1, 2] if cls is LlmCall else []))
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            assert getattr(defaults, item.name) == item.default, item.name
