"""Every benchmark runs in its short mode with `--check`: it exits non-zero when it misses its target.

The targets are ratios against baselines measured in the same run (see each benchmark's docstring), so a slower
machine moves both sides. This is the `benchmark` tier: deselected by a plain `pytest`, run by scripts/test.sh.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).parent.parent / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_has_a_check_mode() -> None:
    assert len(BENCHMARKS) >= 6
    for script in BENCHMARKS:
        assert '"--check"' in script.read_text(encoding="utf-8"), f"{script.name} has no --check mode"


@pytest.mark.benchmark
@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_meets_its_target_in_short_mode(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--short", "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=script.parent.parent,
    )
    print(result.stdout[-4000:])
    assert "target" in result.stdout.lower(), "a benchmark prints its target and whether it was met"
    assert result.returncode == 0, f"missed or failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
