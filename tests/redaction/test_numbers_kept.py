"""What scrub_attributes' fast path for numbers rests on: _scrub_attribute keeps an int, a float or a bool as it is
under every kind of key (sensitive, name, id, safe, any other), so skipping it for numbers changes nothing."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from otel_claude import semconv as sc
from otel_claude.redaction import Scrubber
from otel_claude.redaction.attribute_keys import ID_ATTRIBUTE_KEYS, NAME_ATTRIBUTE_KEYS, SAFE_ATTRIBUTE_KEYS

_KEYS = sorted(
    {"password", "api_key", "Authorization", "token", "db.password", "secret", "x", "tool.input", sc.CC_TOOL_ERROR}
    | set(NAME_ATTRIBUTE_KEYS)
    | set(ID_ATTRIBUTE_KEYS)
    | set(list(SAFE_ATTRIBUTE_KEYS)[:20])
)
_NUMBERS = st.integers() | st.floats() | st.booleans()


@given(key=st.sampled_from(_KEYS) | st.text(max_size=30), number=_NUMBERS)
def test_a_number_is_kept_under_any_key(key: str, number: int | float | bool) -> None:
    scrubber = Scrubber()
    new, names = scrubber._scrub_attribute(key, number)
    assert names == [] and type(new) is type(number)
    assert new is number or (isinstance(number, float) and math.isnan(number) and math.isnan(new))
    result = scrubber.scrub_attributes({key: number, "password": "hunter2-but-longer"})
    assert result.attributes[key] is number or key == "password"
    assert result.changed_keys == ["password"]
