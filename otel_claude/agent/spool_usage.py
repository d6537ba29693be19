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
"""

from __future__ import annotations

import os
import stat
import time

from otel_claude.handoff import spool

# A record whose last write is older than this is written whole (hook.sh writes one in milliseconds).
SETTLED_S = 2.0
# At or above this fraction of the bound, every scan stats every entry.
EXACT_FROM = 0.5


class SpoolUsage:
    def __init__(self, where: spool.SpoolPaths, max_bytes: int) -> None:
        self._where = where
        self._max_bytes = max_bytes
        self._settled: dict[str, int] = {}  # name -> disk use, of entries that can no longer grow
        self._total = 0  # bytes at the last scan
        self.stats = 0  # stat calls made, for tests

    def measure(self) -> tuple[int, int]:
        """(entries, bytes on disk) of the spool's `new/` dir now."""
        previous = self._settled
        # Near the bound, nothing is taken from memory: the bound is judged on what every entry takes now.
        exact = self._total >= self._max_bytes * EXACT_FROM
        settled: dict[str, int] = {}
        settled_before = time.time() - SETTLED_S
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
        return count, total
