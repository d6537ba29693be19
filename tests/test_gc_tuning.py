"""The collector settings of the agent and of backfill (gc_tuning.py): collected less often, garbage cycles are still
freed, and what start-up made is out of the collector's sight."""

from __future__ import annotations

import gc
import weakref

import pytest

from otel_claude import gc_tuning


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _restored() -> object:
    threshold = gc.get_threshold()
    yield None
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.parametrize("collect", [True, False])
def test_cycles_are_still_collected_after_the_tuning(collect: bool) -> None:
    gc_tuning.start_up_done(collect=collect)
    assert gc.get_threshold()[0] == gc_tuning.YOUNG_THRESHOLD
    node = _Node()
    gone = weakref.ref(node)
    del node
    kept = [[] for _ in range(2 * gc_tuning.YOUNG_THRESHOLD)]  # new containers: the collector runs on its own
    assert gone() is None, "a garbage cycle outlived two young generations' worth of allocations"
    del kept


def test_start_up_is_frozen_and_its_garbage_freed_first() -> None:
    node = _Node()
    gone = weakref.ref(node)
    del node
    gc_tuning.start_up_done(collect=True)
    assert gone() is None, "start-up's garbage cycle was frozen instead of freed"
    assert all(item is not _Node for item in gc.get_objects()), "a class made before start-up's end is not frozen"


def test_before_exit_leaves_nothing_for_the_exit_collection() -> None:
    kept = [[] for _ in range(100)]
    gc_tuning.before_exit()
    assert all(item is not kept for item in gc.get_objects()), "the exit's collection would still traverse it"
