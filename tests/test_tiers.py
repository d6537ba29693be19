"""The test tiers agree everywhere they are named: a tier that pyproject deselects but scripts/test.sh never runs
would be a suite that silently stops running."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from conftest import TIERS

ROOT = Path(__file__).resolve().parents[1]


def test_tiers_are_registered_deselected_by_default_and_each_run_by_the_test_script() -> None:
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    registered = {line.split(":")[0] for line in pytest_ini["markers"]}
    deselected = re.search(r"-m '?not \(([^)]*)\)", pytest_ini["addopts"])
    assert deselected is not None
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    loop = re.search(r"for tier in ([a-z ]+); do", script)
    assert loop is not None and "run_tier fast" in script
    assert set(TIERS) <= registered
    assert set(deselected.group(1).split(" or ")) == set(TIERS)
    assert loop.group(1).split() == list(TIERS)


def test_ci_runs_the_test_script_strictly() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export CI=true" in ci and "scripts/test.sh" in ci
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert '"$rc" -eq 5' in script  # pytest's "no tests collected" fails the run
