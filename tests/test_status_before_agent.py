"""`otel-claude status` before the agent's first run shows the configured endpoints, not `off`."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_claude.cli.main import main


def _line(out: str, label: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(label))


def test_status_before_the_first_agent_run_names_the_configured_endpoint(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_home / ".claude").mkdir()
    argv = ["install", "--claude-version", "2.1.330", "--endpoint", "http://collector.example:4317"]
    assert main([*argv, "--prometheus-port", "9464"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "agent:        not running" in out
    assert (
        _line(out, "OTLP:")
        == "OTLP:         http://collector.example:4317 (configured; the agent has not reported yet)"
    )
    assert "9464" in _line(out, "Prometheus:")


def test_status_says_off_when_nothing_exports(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert _line(out, "OTLP:").endswith("off") and _line(out, "Prometheus:").endswith("off")
