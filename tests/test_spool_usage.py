"""The agent's spool account (agent/spool_usage.py): the figures a full stat of every entry gives, with a stat only of
what is new or may still grow, and a full stat again near the bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from otel_claude.agent import spool_usage
from otel_claude.agent.spool_usage import SpoolUsage
from otel_claude.handoff import spool


def _spool(tmp_path: Path) -> spool.SpoolPaths:
    where = spool.SpoolPaths(str(tmp_path / "state"))
    spool.ensure_layout(where)
    return where


def _settle(where: spool.SpoolPaths, *names: str) -> None:
    old = time.time() - 60
    for name in names:
        os.utime(os.path.join(where.new_dir, name), (old, old))


def _full_stat(where: spool.SpoolPaths) -> tuple[int, int]:
    sizes = list(spool.iter_sizes(where))
    return len(sizes), sum(sizes)


def test_settled_records_are_stat_ed_once_and_the_figures_stay_those_of_a_full_stat(tmp_path: Path) -> None:
    where = _spool(tmp_path)
    names = [spool.append(where, 1, b"x" * size) for size in (10, 5000, 9000)]
    _settle(where, *names)
    usage = SpoolUsage(where, max_bytes=10**9)
    assert usage.measure() == _full_stat(where) == (3, 4096 + 8192 + 12288)
    assert usage.stats == 3
    assert usage.measure() == _full_stat(where)
    assert usage.stats == 3  # nothing new: listed, not stat'ed

    spool.append(where, 1, b"y" * 20000)  # an arrival is what the listing finds: stat'ed
    os.unlink(os.path.join(where.new_dir, names[0]))  # a released record leaves the figures
    assert usage.measure() == _full_stat(where) == (3, 8192 + 12288 + 20480)
    assert usage.stats == 4


def test_a_record_that_may_still_be_written_is_stat_ed_again_at_every_scan(tmp_path: Path) -> None:
    where = _spool(tmp_path)
    name = "00000000000000000001-0000001-0001.rec"  # hook.sh writes in place, in new/
    path = os.path.join(where.new_dir, name)
    with open(path, "wb") as handle:
        handle.write(b"OCR2 1\n")
    usage = SpoolUsage(where, max_bytes=10**9)
    assert usage.measure() == (1, 4096)
    with open(path, "ab") as handle:
        handle.write(b"z" * 10000)
    assert usage.measure() == _full_stat(where) == (1, 12288)  # its growth is counted
    assert usage.stats == 2


def test_a_directory_is_never_taken_from_memory(tmp_path: Path) -> None:
    where = _spool(tmp_path)
    name = "00000000000000000001-0000001-0001.rec"
    os.mkdir(os.path.join(where.new_dir, name))
    _settle(where, name)
    usage = SpoolUsage(where, max_bytes=10**9)
    usage.measure()
    usage.measure()
    assert usage.stats == 2


def test_near_the_bound_every_entry_is_stat_ed_at_every_scan(tmp_path: Path) -> None:
    where = _spool(tmp_path)
    names = [spool.append(where, 1, b"x" * 5000) for _ in range(4)]  # 4 x 8 KiB on disk
    _settle(where, *names)
    usage = SpoolUsage(where, max_bytes=64 * 1024)  # at half of the bound
    assert usage.measure() == (4, 32768)
    with open(os.path.join(where.new_dir, names[0]), "ab") as handle:  # grows after it settled: seen near the bound
        handle.write(b"x" * 40000)
    _settle(where, names[0])
    assert usage.measure() == _full_stat(where) == (4, 24576 + 45056)
    assert usage.stats == 8

    far = SpoolUsage(where, max_bytes=10**9)  # far from the bound, a settled record is taken from memory
    far.measure()
    far.measure()
    assert far.stats == 4


def test_every_few_scans_stat_every_entry_and_the_schedule_is_that_of_a_full_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = _spool(tmp_path)
    names = [spool.append(where, 1, b"x") for _ in range(300)]
    _settle(where, *names)
    usage = SpoolUsage(where, max_bytes=10**9)
    monkeypatch.setattr(spool_usage.time, "monotonic", lambda: usage.stats * 0.001)  # a stat takes 1 ms
    usage.measure()
    assert usage.stats == 300 and usage.full_cost_s == pytest.approx(0.3)
    for _ in range(10):
        spool.append(where, 1, b"y")  # young: stat'ed at every scan
    usage.measure()
    assert usage.stats == 310
    assert usage.full_cost_s == pytest.approx(0.31)  # what stat'ing all 310 would have taken: the agent's schedule
    usage.measure()
    assert usage.stats == 320
    usage.measure()  # the fourth: every entry again
    assert usage.stats == 630 and usage.full_cost_s == pytest.approx(0.31)


def test_an_unreadable_spool_counts_nothing(tmp_path: Path) -> None:
    where = spool.SpoolPaths(str(tmp_path / "missing"))
    assert SpoolUsage(where, max_bytes=10**9).measure() == (0, 0)
