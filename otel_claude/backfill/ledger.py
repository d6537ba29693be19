"""What backfill has already exported, so running it twice exports nothing new.

Two files in `<state dir>/backfill/`, both mode 0600 and replaced atomically:
- `files.json`: a transcript cursor per file (offset, inode, fingerprint), so a finished file is not read again
  and a grown one is read from where the last run stopped;
- `exported.u64`: the 64-bit hashes of the responses (message id + request id) already exported, so a response
  that shows up again in another file (a resumed session repeats its history) is not exported twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from array import array
from collections.abc import Iterable
from typing import Any

from otel_claude.handoff import paths
from otel_claude.transcripts.reader import Cursor

_log = logging.getLogger(__name__)
_VERSION = 1


def key_hash(key: Iterable[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(key).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


_MAX_LEDGER_BYTES = 1 << 30  # 8 bytes per exported call: far above any history


def _read(path: str) -> bytes | None:
    return paths.read_private(path, _MAX_LEDGER_BYTES)


class ExportedCallsLedger:
    def __init__(self, state_dir: str) -> None:
        self.directory = paths.StatePaths(state_dir).backfill_dir
        self._files_path = os.path.join(self.directory, "files.json")
        self._exported_path = os.path.join(self.directory, "exported.u64")
        self.cursors: dict[str, Cursor] = {}
        self.exported: set[int] = set()
        self._load()

    def _load(self) -> None:
        try:
            raw = _read(self._files_path)
            if raw:
                data: Any = json.loads(raw)
                if isinstance(data, dict) and data.get("version") == _VERSION:
                    for path, cursor in (data.get("files") or {}).items():
                        if isinstance(cursor, dict):
                            self.cursors[str(path)] = Cursor.from_dict(cursor)
            blob = _read(self._exported_path)
            if blob:
                hashes = array("Q")
                hashes.frombytes(blob[: len(blob) - len(blob) % 8])
                self.exported = set(hashes)
        except (OSError, ValueError) as exc:
            _log.warning("backfill ledger in %s is unreadable (%s); starting a new one", self.directory, exc)
            self.cursors, self.exported = {}, set()

    def cursor(self, path: str) -> Cursor:
        return self.cursors.get(path) or Cursor(path=path)

    def save(self) -> None:
        os.makedirs(self.directory, mode=paths.DIR_MODE, exist_ok=True)
        files = {path: cursor.to_dict() for path, cursor in self.cursors.items()}
        paths.write_atomic(self._files_path, json.dumps({"version": _VERSION, "files": files}).encode())
        paths.write_atomic(self._exported_path, array("Q", sorted(self.exported)).tobytes())
