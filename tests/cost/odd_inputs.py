"""Odd values of the fields the reader reads (usage counts, timestamps), for the tests that compare it with the
parser before its speed work (tests/cost/reference)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

STAMPS = [
    "2026-11-01T09:00:01.200Z",
    "2026-11-01T09:00:01.200Z",
    "2026-11-01T09:00:59.999Z",
    "2026-11-01T09:01:00.000Z",
    "2026-11-01T09:00:01.200+00:00",
    "2026-11-01T09:00:60.000Z",
    "2026-11-01T09:00:01.2Z",
    "2026-11-01T09:00:01.\u0661\u0662\u0663Z",
    "2026-11-01T09:00:01Z",
    "2026-11-01T09:00:01.200",
    "2026-13-01T09:00:01.200Z",
    "2026-11-01T09:00:01.200Z ",
    "garbage",
    "",
    5,
    None,
]
USAGES: list[Any] = [
    {"input_tokens": 3, "output_tokens": 9, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 7,
     "cache_creation": {"ephemeral_5m_input_tokens": 2, "ephemeral_1h_input_tokens": 5}, "speed": "fast"},
    {"input_tokens": 3, "output_tokens": 12, "cache_creation_input_tokens": 7, "service_tier": "standard"},
    {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 4,
     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}},
    {"input_tokens": -1, "output_tokens": 2.5, "cache_read_input_tokens": True},
    {"output_tokens": 5},
    "not a dict",
]  # fmt: skip
COUNTS = st.one_of(st.integers(-3, 10**12), st.sampled_from([True, None, 1.5, "7", -0.0]))
RANDOM_USAGE = st.dictionaries(
    st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]),
    COUNTS,
).flatmap(
    lambda counts: st.builds(
        lambda split, speed: {**counts, **({"cache_creation": split} if split is not None else {}), "speed": speed},
        st.one_of(
            st.none(),
            st.just([]),
            st.dictionaries(st.sampled_from(["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"]), COUNTS),
        ),
        st.sampled_from([None, "", "fast", 3]),
    )
)


def _stamp(year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int, tail: str) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}{tail}"


# Claude Code's shape with each part in range or just out of it (month 13, hour 24, second 60, 31 February)
SHAPED_STAMPS = st.builds(
    _stamp,
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 61),
    st.integers(0, 999),
    st.sampled_from(["Z", "Z", "", "z", "+00:00", "+05:30", " "]),
)
