"""The parser's one-pass look at a line's `"type":"..."` keys finds what a search of the head for each would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_claude.transcripts import lines

_PIECES = [b'"type":"', b"user", b"assistant", b"api-request", b'"', b"-shape", b"x" * 50, b'"type":"type":"user"']


@settings(max_examples=300)
@given(
    parts=st.lists(st.sampled_from(_PIECES) | st.binary(max_size=8), max_size=30),
    pad=st.integers(min_value=0, max_value=lines._HEAD + 16),
)
def test_types_are_the_searches_of_the_head(parts: list[bytes], pad: int) -> None:
    body = b"".join(parts)
    for line in (body, b" " * pad + body):  # needles across the head's end too
        head = line[: lines._HEAD]
        expected = (b'"type":"user"' in head, b'"type":"assistant"' in head, b'"type":"api-request"' in head)
        assert lines._types(line) == expected
