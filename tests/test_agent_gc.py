"""The agent's collector settings (agent/runner.py): collected less often, garbage cycles are still freed."""

from __future__ import annotations

import gc
import weakref

from otel_claude.agent import runner


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_cycles_are_still_collected_after_the_tuning() -> None:
    threshold = gc.get_threshold()
    try:
        runner._tune_gc()
        assert gc.get_threshold()[0] == runner.GC_YOUNG_THRESHOLD
        node = _Node()
        gone = weakref.ref(node)
        del node
        kept = [[] for _ in range(2 * runner.GC_YOUNG_THRESHOLD)]  # new containers: the collector runs on its own
        assert gone() is None, "a garbage cycle outlived two young generations' worth of allocations"
        del kept
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
