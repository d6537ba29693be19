"""The spool's disk use as the agent measures it for the `full` marker and the backlog figures, without a stat of
every record at every scan.

A record's disk use stops changing once it is written whole: hook.py renames it into place whole, and hook.sh's
in-place write takes milliseconds. So a scan lists the spool (cheap: no stat) and stats only what it has not
measured before, plus what may still be growing; an entry it has measured stays measured while it is listed. Kept
exact where it matters:
- an entry is remembered only when it is a regular file whose last write is SETTLED_S older than the scan (a record
  hook.sh may still be writing is stat'ed again at every scan, as before);
- once the spool takes half of its bound or more, every entry is stat'ed again at every scan, as before, so
  the bound itself is always judged on fresh figures;
- what is remembered is at most one small int per listed entry, and only for entries still listed.

The scans keep the schedule they had when each stat'ed every entry (the agent scans at most once per
SCAN_COST_FACTOR times a scan's cost): `full_cost_s` is what stat'ing every entry listed would have taken, timed at
the last scan that did (one in EXACT_EVERY at least). So the marker is not staler than before; most scans cost less.
"""

from __future__ import annotations

import os
import stat
import time

from otel_claude.handoff import spool

# A record whose last write is older than this is written whole (hook.sh writes one in milliseconds).
SETTLED_S = 2.0
# At or above this fraction of the bound, every scan stats every entry; below it, every EXACT_EVERY-th scan does (it
# times the stat of an entry afresh, and measures again what a scan takes from memory).
EXACT_FROM = 0.5
EXACT_EVERY = 4
# A scan of fewer entries than this is not timed per entry: its fixed cost would be counted as the entries'.
TIMED_FROM = 256


class SpoolUsage:
    def __init__(self, where: spool.SpoolPaths, max_bytes: int) -> None:
        self._where = where
        self._max_bytes = max_bytes
        self._settled: dict[str, int] = {}  # name -> disk use, of entries that can no longer grow
        self._total = 0  # bytes at the last scan
        self._scans = 0
        self._stat_s: float | None = None  # per entry, when a scan last stat'ed every entry it listed
        self.full_cost_s = 0.0  # what the last scan would have taken had it stat'ed every entry
        self.stats = 0  # stat calls made, for tests

    def measure(self) -> tuple[int, int]:
        """(entries, bytes on disk) of the spool's `new/` dir now."""
        previous = self._settled
        self._scans += 1
        # Near the bound, nothing is taken from memory: the bound is judged on what every entry takes now.
        exact = self._total >= self._max_bytes * EXACT_FROM or self._scans % EXACT_EVERY == 0
        settled: dict[str, int] = {}
        settled_before = time.time() - SETTLED_S
        started = time.monotonic()
        stats_before = self.stats
        count = total = 0
        try:
            with os.scandir(self._where.new_dir) as entries:
                for entry in entries:
                    name = entry.name
                    use = None if exact else previous.get(name)
                    if use is None:
                        try:
                            info = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        self.stats += 1
                        use = spool.disk_use(info)
                        if stat.S_ISREG(info.st_mode) and info.st_mtime < settled_before:
                            settled[name] = use
                    else:
                        settled[name] = use
                    count += 1
                    total += use
        except OSError:
            pass
        self._settled, self._total = settled, total
        took = time.monotonic() - started
        if count >= TIMED_FROM and self.stats - stats_before == count:
            self._stat_s = took / count
        self.full_cost_s = took if self._stat_s is None else max(took, count * self._stat_s)
        return count, total
