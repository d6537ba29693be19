"""`replay --wait` returns only once the agent has exported everything: an empty spool is not enough while turn
spans wait for their transcript's re-read, or finished spans for their commit."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_claude.agent.status import status_path
from otel_claude.cli.replay import wait_until_exported
from otel_claude.handoff import agent_lock, spool


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[str]:
    """An empty spool, and an agent lock held by this test: an agent that is still running."""
    state = str(tmp_path / "state")
    spool.ensure_layout(spool.SpoolPaths(state))
    fd = os.open(agent_lock.lock_path(state), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield state
    os.close(fd)


def _status(state_dir: str, **settling: int) -> None:
    document = {"updated_at": time.time() + 60, "metric_export": {}, "settling": settling}
    Path(status_path(state_dir)).write_text(json.dumps(document))


@pytest.mark.parametrize("waiting", ["reads", "held_spans", "unexported_spans"])
def test_an_empty_spool_is_not_enough_while_the_agent_still_holds_work(state_dir: str, waiting: str) -> None:
    _status(state_dir, **{waiting: 1})
    assert not wait_until_exported(state_dir, timeout=0.3)
    _status(state_dir, reads=0, held_spans=0, unexported_spans=0)
    assert wait_until_exported(state_dir, timeout=5)
