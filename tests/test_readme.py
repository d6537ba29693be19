"""The README's configuration table is generated from env.py and matches it; its links point at real files."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
# Linked from the README as the places other issues document their work in; they may not exist on every branch.
DOCUMENTED_ELSEWHERE = {"docs/redaction.md", "docs/team.md"}


def _env_table() -> ModuleType:
    """scripts/env_table.py, a script rather than a package module."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module("env_table")
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_configuration_table_matches_env_py() -> None:
    env_table = _env_table()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = env_table.ENV_MODULE.read_text(encoding="utf-8")
    assert env_table.render(readme, source) == readme, "run python scripts/env_table.py"
    from otel_claude.handoff import env

    for name in env.ALL:
        assert f"| `{name}` |" in readme


def test_the_table_check_notices_a_changed_docstring() -> None:
    env_table = _env_table()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = env_table.ENV_MODULE.read_text(encoding="utf-8")
    changed = source.replace("Default 9464", "Default 9999", 1)
    assert changed != source
    assert "Default 9999" in env_table.render(readme, changed)
    assert env_table.render(readme, changed) != readme


def test_local_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)#:]+)\)", readme))
    assert "docs/architecture.md" in links
    missing = {link for link in links if not (ROOT / link).exists()} - DOCUMENTED_ELSEWHERE
    assert missing == set()
