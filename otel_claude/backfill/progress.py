"""A one-line progress bar for backfill on stderr."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """A one-line progress bar on a terminal stream, redrawn at most 5 times a second; silent when disabled."""

    def __init__(self, total_bytes: int, stream: TextIO | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._total = max(total_bytes, 1)
        self._stream = stream
        self._clock = clock
        self._start = clock()
        self._last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        if self._stream is None:
            return
        now = self._clock()
        if not final and now - self._last < 0.2:
            return
        self._last = now
        fraction = min(done / self._total, 1.0)
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed / 1e6
        eta = (self._total - done) / (done / elapsed) if done else 0.0
        bar = "#" * int(fraction * 30)
        self._stream.write(
            f"\rbackfill [{bar:<30}] {fraction * 100:5.1f}% {done / 1e6:8.1f}/{self._total / 1e6:.1f} MB "
            f"{rate:6.1f} MB/s ETA {eta:5.0f}s"
        )
        if final:
            self._stream.write("\n")
        self._stream.flush()
