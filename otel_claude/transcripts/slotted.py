"""Frozen slots dataclasses made cheap to build, read and pickle: the transcript model's calls are made, copied and
sent between processes by the hundred thousand in a backfill (transcripts/model.py, backfill/span_bodies.py)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any, TypeVar

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickled as a call of the class with its field values. Python 3.11's slots dataclasses pickle through a
    `fields()` call and a setattr per field for every object: backfill's reader processes send every call they
    read (and its span body) to the exporting process, where that cost as much as reading the call did
    (tests/test_transcript_model.py holds the round trip equal)."""
    values = field_values(cls)

    def __reduce__(self: _T) -> tuple[type[_T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


def set_through_slots(cls: type[_T]) -> type[_T]:
    """A frozen slots dataclass whose `__init__` sets each field through its slot's own descriptor. The one dataclass
    writes calls `object.__setattr__` per field (to get past the frozen `__setattr__`): twice the cost, and the
    reader builds every call it reads twice (when read, and with its end) and the exporting process once more when
    unpickling it. Same signature, defaults and result (tests/test_transcript_model.py); the instance stays frozen.
    For classes whose fields all take plain defaults (no default_factory, no __post_init__)."""
    namespace: dict[str, Any] = {}
    params, body = [], []
    for index, item in enumerate(fields(cls)):  # type: ignore[arg-type]
        if item.default_factory is not MISSING or not item.init or hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__}.{item.name}: only plain fields can be set through slots")
        namespace[f"_set{index}"] = cls.__dict__[item.name].__set__  # the slot's member descriptor
        if item.default is MISSING:
            params.append(item.name)
        else:
            namespace[f"_default{index}"] = item.default
            params.append(f"{item.name}=_default{index}")
        body.append(f"    _set{index}(self, {item.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n", namespace)  # as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = dict(cls.__init__.__annotations__)  # the dataclass's, for introspection
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def field_values(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """An instance's field values in field order, read at C speed (`operator.attrgetter`)."""
    return operator.attrgetter(*(item.name for item in fields(cls)))
