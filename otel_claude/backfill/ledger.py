"""What backfill has already exported, so running it twice exports nothing new.

Files in `<state dir>/backfill/`, all mode 0600, written only with what a receiver acknowledged:
- `files.json` (replaced atomically): a transcript cursor per file (offset, inode, fingerprint), so a finished file
  is not read again and a grown one is read from where the last run stopped;
- `exported.u64` (appended to, fsynced): the 64-bit hashes of the responses (message id + request id) whose span
  and metrics were acknowledged, so a response that shows up again in another file (a resumed session repeats its
  history) or in a later run is not exported twice;
- `spans-only.u64` (replaced atomically): responses whose span was acknowledged but whose metrics were not (the
  receiver went away in between); the next run sends only their metrics, so neither is counted twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from array import array
from collections.abc import Iterable, Mapping
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
        self._spans_only_path = os.path.join(self.directory, "spans-only.u64")
        self.cursors: dict[str, Cursor] = {}
        self.exported: set[int] = set()
        self.spans_only: set[int] = set()
        self._unsaved: list[int] = []
        self._rewrite = False  # a torn append (not a multiple of 8 bytes) is repaired by rewriting the file
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
            blob = _read(self._exported_path) or b""
            self._rewrite = len(blob) % 8 != 0
            self.exported = _hashes(blob)
            self.spans_only = _hashes(_read(self._spans_only_path) or b"") - self.exported
        except (OSError, ValueError) as exc:
            _log.warning("backfill ledger in %s is unreadable (%s); starting a new one", self.directory, exc)
            self.cursors, self.exported, self.spans_only = {}, set(), set()
            self._rewrite = True

    def cursor(self, path: str) -> Cursor:
        return self.cursors.get(path) or Cursor(path=path)

    def record(self, exported: Iterable[int], spans_only: Iterable[int], cursors: Mapping[str, Cursor]) -> None:
        """Remembers what a receiver acknowledged: whole responses, responses whose span alone got through, and the
        cursors of the files all of whose responses are among them. `save` writes it."""
        new = [h for h in exported if h not in self.exported]
        self.exported.update(new)
        self._unsaved.extend(new)
        self.spans_only.difference_update(new)
        self.spans_only.update(h for h in spans_only if h not in self.exported)
        self.cursors.update(cursors)

    def save(self) -> None:
        os.makedirs(self.directory, mode=paths.DIR_MODE, exist_ok=True)
        # Hashes first: a crash before the cursors are written makes the next run read a file again and skip what
        # the hashes say was exported, never the other way round.
        if self._rewrite:
            paths.write_atomic(self._exported_path, array("Q", sorted(self.exported)).tobytes())
            self._rewrite = False
        elif self._unsaved:
            _append(self._exported_path, array("Q", self._unsaved).tobytes())
        self._unsaved = []
        paths.write_atomic(self._spans_only_path, array("Q", sorted(self.spans_only)).tobytes())
        files = {path: cursor.to_dict() for path, cursor in self.cursors.items()}
        paths.write_atomic(self._files_path, json.dumps({"version": _VERSION, "files": files}).encode())


def _hashes(blob: bytes) -> set[int]:
    hashes = array("Q")
    hashes.frombytes(blob[: len(blob) - len(blob) % 8])
    return set(hashes)


def _append(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, paths.FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
