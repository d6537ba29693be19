"""The SDK's IdGenerator that hands it the deterministic ids (export/ids.py) chosen for the span being started.

Apart from export/ids.py so that a process that only computes ids (a backfill reader) never imports the SDK."""

from __future__ import annotations

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from otel_claude.export.ids import chosen_ids


class DeterministicIdGenerator(IdGenerator):
    """Hands the SDK the ids the caller chose for the span being started; random ids otherwise."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        chosen = chosen_ids()
        return chosen[1] if chosen else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        chosen = chosen_ids()
        return chosen[0] if chosen else self._random.generate_trace_id()
