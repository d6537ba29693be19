"""Reading records relative to one descriptor of spool/new (the agent's batch read) refuses what a path read does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otel_claude.handoff import paths, spool


def test_records_read_through_the_dir_descriptor_are_the_path_reads(tmp_path: Path) -> None:
    where = spool.SpoolPaths(str(tmp_path / "state"))
    spool.ensure_layout(where)
    name = spool.append(where, 7, b'{"session_id":"s"}')
    outside = tmp_path / "elsewhere.rec"
    outside.write_bytes(spool.encode(1, b"not ours to read"))
    os.symlink(outside, os.path.join(where.new_dir, "00000000000000000001-0000001-0001.rec"))
    os.mkfifo(os.path.join(where.new_dir, "00000000000000000002-0000001-0001.rec"))
    directory = spool.open_new_dir(where)
    assert directory is not None
    try:
        assert spool.read_record(where, name, directory) == spool.read_record(where, name)
        with pytest.raises(OSError):  # a planted link is not followed (O_NOFOLLOW on the name)
            spool.read_record(where, "00000000000000000001-0000001-0001.rec", directory)
        with pytest.raises(paths.NotOurFile):  # a FIFO is refused, without blocking
            spool.read_record(where, "00000000000000000002-0000001-0001.rec", directory)
    finally:
        os.close(directory)


def test_a_symlinked_new_dir_is_not_opened(tmp_path: Path) -> None:
    where = spool.SpoolPaths(str(tmp_path / "state"))
    spool.ensure_layout(where)
    os.rename(where.new_dir, tmp_path / "real-new")
    os.symlink(tmp_path / "real-new", where.new_dir)
    assert spool.open_new_dir(where) is None  # (ensure_layout refuses it at start); records are then read by path
