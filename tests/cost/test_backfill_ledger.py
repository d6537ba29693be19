"""The backfill ledger: appended hashes, a torn append repaired, spans-only responses, files private."""

from __future__ import annotations

import stat
from pathlib import Path

from otel_claude.backfill.ledger import ExportedCallsLedger
from otel_claude.transcripts.reader import Cursor


def test_hashes_are_appended_and_a_torn_tail_is_repaired(tmp_path: Path) -> None:
    ledger = ExportedCallsLedger(str(tmp_path))
    ledger.record([1, 2, 3], (), {"/t.jsonl": Cursor(path="/t.jsonl", offset=10)})
    ledger.save()
    exported = tmp_path / "backfill" / "exported.u64"
    assert exported.stat().st_size == 24
    ledger.record([3, 4], (), {})  # 3 is known: only 4 is appended
    ledger.save()
    assert exported.stat().st_size == 32
    with exported.open("ab") as handle:
        handle.write(b"\x01\x02\x03")  # a crash in the middle of an append
    reloaded = ExportedCallsLedger(str(tmp_path))
    assert reloaded.exported == {1, 2, 3, 4} and reloaded.cursor("/t.jsonl").offset == 10
    reloaded.record([5], (), {})
    reloaded.save()  # rewrites the file whole instead of appending after the torn bytes
    assert ExportedCallsLedger(str(tmp_path)).exported == {1, 2, 3, 4, 5} and exported.stat().st_size == 40
    for path in (tmp_path / "backfill").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_spans_only_responses_move_to_exported_once_their_metrics_are_acknowledged(tmp_path: Path) -> None:
    ledger = ExportedCallsLedger(str(tmp_path))
    ledger.record([1], spans_only=[2, 3], cursors={})
    ledger.save()
    reloaded = ExportedCallsLedger(str(tmp_path))
    assert reloaded.exported == {1} and reloaded.spans_only == {2, 3}
    reloaded.record([2, 3], (), {})
    reloaded.save()
    final = ExportedCallsLedger(str(tmp_path))
    assert final.exported == {1, 2, 3} and final.spans_only == set()
