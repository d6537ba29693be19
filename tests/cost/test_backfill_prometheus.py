"""Backfilled daily samples import into a real Prometheus (Debian's) and answer a query for the past day."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cost.support import fixture_projects
from otel_claude.backfill.delivery import Delivery
from otel_claude.backfill.run import run_backfill

pytestmark = pytest.mark.prometheus


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found (apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_openmetrics_file_imports_and_answers_for_the_past_day(tmp_path: Path) -> None:
    promtool, prometheus = _binary("promtool"), _binary("prometheus")
    om = tmp_path / "backfill.om"
    summary = run_backfill(
        [str(fixture_projects(tmp_path))],
        Delivery(),  # exports nothing: the file is the output
        str(tmp_path / "state"),
        progress=False,
        openmetrics_path=str(om),
    )
    assert summary.openmetrics_samples > 0
    data = tmp_path / "data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)], check=True, timeout=60)
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {}\n")
    port = _free_port()
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stamp = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC).timestamp()
        query = 'sum(otel_claude_tokens_total{claude_code_token_kind="input",claude_code_backfill="true"})'
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": stamp})
        deadline = time.monotonic() + 30
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    result = json.load(response)["data"]["result"]
                if result:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert result, "Prometheus never answered with the imported samples"
        value = result[0]["value"]
        assert isinstance(value, list)
        # Every uncached input token of the fixture sessions: their transcripts' calls, plus the /compact summary
        # call that only Claude Code's cost-state line shows (1,843), as Claude Code's own totals count them.
        assert float(value[1]) == 5517 + 2622 + 2384 + 2508 + 2560 + 5704 + 2467 + 2724 + 1843
    finally:
        server.terminate()
        server.wait(timeout=10)
