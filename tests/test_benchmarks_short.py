"""Every benchmark runs in its short mode and prints its figures: the benchmarks themselves keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("bench_*.py"))


@pytest.mark.benchmark
@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_runs_in_short_mode(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--short"], capture_output=True, text=True, timeout=600, cwd=script.parent.parent
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stderr[-4000:]
    assert any(char.isdigit() for char in result.stdout), "a benchmark prints its measured figures"
