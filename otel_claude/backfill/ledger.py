"""What backfill has already exported, so running it twice exports nothing new.

Two files in `<state dir>/backfill/`, both mode 0600 and replaced atomically:
- `files.json`: a transcript cursor per file (offset, inode, fingerprint), so a finished file is not read again
  and a grown one is read from where the last run stopped;
- `exported.u64`: the 64-bit hashes of the responses (message id + request id) already exported, so a response
  that shows up again in another file (a resumed session repeats its history) is not exported twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from array import array
from collections.abc import Iterable
from typing import Any

from otel_claude.transcripts.reader import Cursor

_log = logging.getLogger(__name__)
FILE_MODE = 0o600
DIR_MODE = 0o700
_VERSION = 1


def key_hash(key: Iterable[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(key).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


class ExportedCallsLedger:
    def __init__(self, state_dir: str) -> None:
        self.directory = os.path.join(state_dir, "backfill")
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
        os.makedirs(self.directory, mode=DIR_MODE, exist_ok=True)
        files = {path: cursor.to_dict() for path, cursor in self.cursors.items()}
        _write_atomic(self._files_path, json.dumps({"version": _VERSION, "files": files}).encode())
        _write_atomic(self._exported_path, array("Q", sorted(self.exported)).tobytes())
