"""The count of records the hook could not spool, kept bounded on disk.

The hook appends one line per lost record to `drops.log` (O_APPEND, no read, no lock: it must stay cheap). Left
alone that file grows by ~40 bytes per loss for as long as losses go on, so the agent folds it: past FOLD_AT_BYTES
it renames the log aside, and on a later pass, once no hook can still be appending to the renamed file (a hook
holds it open for one write), adds its lines to the running total in `drops.total` and deletes it. The count
`status` shows is total + the lines still in logs.
"""

from __future__ import annotations

import logging
import os
import time

from otel_claude.handoff import paths

_log = logging.getLogger(__name__)
FOLD_AT_BYTES = 64 * 1024
_FOLDING = ".folding-"
_QUIET_S = 1.0  # a renamed log this old has no writer left


def _total_path(state_dir: str) -> str:
    return os.path.join(state_dir, "drops.total")


def _folding(state_dir: str) -> list[str]:
    prefix = os.path.basename(paths.StatePaths(state_dir).drops_log) + _FOLDING
    try:
        names = sorted(name for name in os.listdir(state_dir) if name.startswith(prefix))
    except OSError:
        return []
    return [os.path.join(state_dir, name) for name in names]


def folded_total(state_dir: str) -> int:
    try:
        return int((paths.read_private(_total_path(state_dir), 64) or b"0").strip() or 0)
    except (OSError, ValueError):
        return 0


def dropped_count(state_dir: str) -> int:
    """Records the hook could not spool: the folded total, the state dir's logs and the fallback dir's log."""
    logs = [paths.StatePaths(state_dir).drops_log, *_folding(state_dir)]
    return folded_total(state_dir) + sum(paths.count_lines(log) for log in logs) + paths.fallback_drop_count()


def fold(state_dir: str) -> None:
    """One pass: count and delete quiet renamed logs, then rename the live log aside if it is big."""
    now = time.time()
    quiet = []
    for path in _folding(state_dir):
        try:
            if now - float(path.rsplit(_FOLDING, 1)[1]) / 1e9 >= _QUIET_S:
                quiet.append(path)
        except ValueError:
            quiet.append(path)
    if quiet:
        total = folded_total(state_dir) + sum(paths.count_lines(path) for path in quiet)
        try:
            paths.write_atomic(_total_path(state_dir), f"{total}\n".encode())
        except OSError as exc:
            _log.error("cannot save the drop count: %s", exc)
            return
        for path in quiet:
            try:
                os.unlink(path)
            except OSError:
                pass
    log = paths.StatePaths(state_dir).drops_log
    try:
        if os.lstat(log).st_size > FOLD_AT_BYTES:
            os.rename(log, f"{log}{_FOLDING}{time.time_ns()}")
    except OSError:
        pass
