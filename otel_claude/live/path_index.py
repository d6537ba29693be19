"""Which transcripts the held spans and the scheduled settle reads are for, kept beside the state's lists.

Every eviction of a followed transcript asks whether (and which) held spans wait for it, and every Stop whether its
re-read is scheduled already: searching `state.held` (up to MAX_HELD_SPANS pydantic objects spread over the heap,
an attribute read each) and `state.settles` cost about 3 % of the agent's CPU under a backlog. Each index is rebuilt
from its list whenever that list was replaced (a settle read, a snapshot loaded), and updated by the only code that
changes a list in place (live/settling.py for `held`, live/usage.py for `settles`), so it always answers as the
search would. Bound: one entry per held span or scheduled read; not in the snapshot.
"""

from __future__ import annotations

from collections import Counter

from otel_claude.live.state import AgentState


def held_paths(state: AgentState) -> tuple[Counter[str], list[str]]:
    """Held spans per transcript path, and the path of each held span in `state.held`'s order (a split of the list
    by path reads these strings, not an attribute of each span); the caller updates both as it changes the list."""
    index = state._held_index
    if index is None or index[0] is not state.held:
        paths = [held.path for held in state.held]
        index = state._held_index = (state.held, Counter(paths), paths)
    return index[1], index[2]


def scheduled_paths(state: AgentState) -> set[str]:
    """The paths in `state.settles`; the caller updates it as it appends to that list."""
    index = state._settle_index
    if index is None or index[0] is not state.settles:
        index = state._settle_index = (state.settles, {path for _, path in state.settles})
    return index[1]
