"""handoff/paths.py: no open of a path we keep or read ever blocks, follows a link or reads without end.

Each case runs in a child process with a deadline, so a regression shows as a failed test, not a hung suite.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_claude.handoff import paths

DEADLINE_S = 10


def _plant(kind: str, path: Path, elsewhere: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "link-to-a-file":
        elsewhere.write_text("someone else's\n")
        path.symlink_to(elsewhere)
    elif kind == "directory":
        path.mkdir()
    else:
        raise AssertionError(kind)


KINDS = ["fifo", "link-to-dev-zero", "link-to-a-file", "directory"]


def _outcome(action: Callable[[str], object], path: str) -> str:
    try:
        action(path)
    except paths.NotOurFile:
        return "refused"
    except OSError as exc:
        return f"oserror:{type(exc).__name__}"
    return "read"


def _run_in_child(action: Callable[[str], object], path: str) -> str:
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply_async(_outcome, (action, path)).get(DEADLINE_S)


def _read(path: str) -> object:
    return paths.read_regular(path, 1 << 20)


def _append(path: str) -> object:
    paths.append_bytes(path, b"x\n")
    return None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("action", [_read, _append], ids=["read", "append"])
def test_a_planted_entry_is_refused_at_once(kind: str, action: Callable[[str], object], tmp_path: Path) -> None:
    target = tmp_path / "drops.log"
    _plant(kind, target, tmp_path / "elsewhere.txt")
    outcome = _run_in_child(action, str(target))
    assert outcome != "read", f"{kind}: {outcome}"
    if kind == "link-to-a-file":
        assert (tmp_path / "elsewhere.txt").read_text() == "someone else's\n"  # not written through


@pytest.mark.parametrize("kind", KINDS)
def test_count_lines_is_zero_for_anything_but_a_regular_file(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "drops.log"
    _plant(kind, target, tmp_path / "elsewhere.txt")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(paths.count_lines, (str(target),)).get(DEADLINE_S) == 0


def test_write_atomic_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    target = tmp_path / "state.json"
    target.symlink_to(victim)
    os.mkfifo(f"{target}.{os.getpid()}.tmp")  # a leftover temp name is not opened either
    paths.write_atomic(str(target), b"{}")
    assert victim.read_text() == "keep\n"
    info = os.lstat(target)
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == paths.FILE_MODE
    assert target.read_bytes() == b"{}"


def test_reads_are_bounded(tmp_path: Path) -> None:
    target = tmp_path / "big"
    target.write_bytes(b"a" * 5000)
    assert len(paths.read_regular(str(target), 100)) == 100
    assert paths.read_private(str(tmp_path / "missing"), 10) is None


def _price_file_ignored(path: str) -> bool:
    from otel_claude.transcripts.prices import bundled_table, load_table

    return load_table({}, path) is bundled_table()  # the override was ignored: the bundled table itself


@pytest.mark.parametrize("kind", KINDS)
def test_a_planted_transcript_or_price_file_is_refused_not_waited_on(kind: str, tmp_path: Path) -> None:
    from otel_claude.transcripts.reader import Cursor, read_new

    target = tmp_path / "planted"
    _plant(kind, target, tmp_path / "elsewhere.txt")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply_async(read_new, (Cursor(path=str(target)),)).get(DEADLINE_S)
        assert result.error and not result.calls
        assert pool.apply_async(_price_file_ignored, (str(target),)).get(DEADLINE_S)


def test_dead_letter_file_is_rotated_not_grown_without_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_claude.agent import records

    monkeypatch.setattr(records, "MAX_DEAD_LETTER_FILE", 10_000)
    path = str(tmp_path / "dead-letters.jsonl")
    for index in range(200):
        records.write_dead_letter(path, f"r{index}.rec", b"x" * 500, records.BadRecord("invalid_json", "bad"))
    sizes = [os.lstat(name).st_size for name in (path, path + ".1")]
    assert max(sizes) < 10_000 + 2_000  # one line past the limit at most, two files
    assert paths.count_lines(path) >= 1 and paths.count_lines(path + ".1") >= 1


def test_an_older_agents_pid_only_lock_still_counts_when_ours_and_held(tmp_path: Path) -> None:
    """At an upgrade the running agent wrote only its pid: `status` and `stop` still find it (it is ours, and
    the lock is held); an unheld pid-only lock names nobody."""
    import fcntl

    from otel_claude.handoff import agent_lock

    lock = tmp_path / "agent.lock"
    lock.write_text(f"{os.getpid()}\n")
    assert agent_lock.holder_pid(str(lock)) is None  # nobody holds it: a stale pid never counts
    ready, release = multiprocessing.get_context("fork").Event(), multiprocessing.get_context("fork").Event()

    def hold() -> None:
        fd = os.open(lock, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        ready.set()
        release.wait(DEADLINE_S)

    holder = multiprocessing.get_context("fork").Process(target=hold)
    holder.start()
    try:
        assert ready.wait(DEADLINE_S)
        assert agent_lock.holder_pid(str(lock)) == holder.pid
    finally:
        release.set()
        holder.join(DEADLINE_S)


def test_drops_log_is_folded_into_a_total_keeping_the_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_claude.agent import drops

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))  # no fallback-dir drops in the count
    log = paths.StatePaths(str(tmp_path)).drops_log
    line = b"1796040000000000000 1234 spool_full\n"
    paths.append_bytes(log, line * 3000)  # ~110 KB, past FOLD_AT_BYTES
    drops.fold(str(tmp_path))
    assert not os.path.exists(log) and drops.dropped_count(str(tmp_path)) == 3000  # renamed aside, still counted
    paths.append_bytes(log, line * 5)  # hooks go on appending to a new log meanwhile
    monkeypatch.setattr(drops, "_QUIET_S", 0.0)
    drops.fold(str(tmp_path))
    assert drops.folded_total(str(tmp_path)) == 3000
    assert drops.dropped_count(str(tmp_path)) == 3005
    on_disk = sum(entry.stat().st_size for entry in os.scandir(tmp_path) if entry.name.startswith("drops"))
    assert on_disk < drops.FOLD_AT_BYTES  # the bytes are gone, the count is not
