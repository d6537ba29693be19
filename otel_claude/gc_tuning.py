"""The cyclic collector's settings for our long-running work (the agent, backfill and its reader processes).

What start-up makes (modules, the SDK, gRPC, providers) lives as long as the process: once it is over, it is moved
out of the collector's sight (gc.freeze), so a full collection no longer traverses it, and the youngest generation is
collected less often. Our work allocates thousands of containers per record or file and makes almost no cycles
(reference counting frees nearly everything); at Python's default of 700 the collector ran hundreds of times per
agent batch, about 3 % of its CPU under a backlog. Cycles still go, a few thousand objects later: memory stays
bounded (tests/test_gc_tuning.py).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # new containers between two collections of the youngest generation (Python's default: 700)


def start_up_done(*, collect: bool = True) -> None:
    """Freezes what exists now and collects the youngest generation less often. `collect` first frees start-up's
    garbage cycles (a full collection: tens of milliseconds with the SDK loaded), for a process that lives long."""
    if collect:
        gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)


def before_exit() -> None:
    """The interpreter's exit collects every object it still tracks: about 0.1 s with the SDK and gRPC loaded, for
    a command whose files are closed and whose exporters are shut down, so nothing waits on that collection."""
    gc.freeze()
