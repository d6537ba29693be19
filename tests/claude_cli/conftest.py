"""Fixtures for the end-to-end tests with the real Claude Code CLI (marker `claude`).

The CLI releases are installed by scripts/install-test-deps/npm-claude-code.sh. Without them the tests skip,
except under CI=true, where a missing release is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Sandbox
from .versions import CLAUDE_CODE_OLD_VERSION, CLAUDE_CODE_VERSION, INSTALLER, claude_binary

SandboxFactory = Callable[[str, str], Sandbox]


def require_claude(version: str) -> str:
    path = claude_binary(version)
    if not (path.exists() and os.access(path, os.X_OK)):
        message = f"Claude Code {version} is not installed at {path}: run {INSTALLER}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return version


def _inside_git_checkout(path: Path) -> bool:
    return any((parent / ".git").exists() for parent in (path, *path.parents))


@pytest.fixture(scope="session")
def claude_version() -> str:
    return require_claude(CLAUDE_CODE_VERSION)


@pytest.fixture(scope="session")
def claude_old_version() -> str:
    return require_claude(CLAUDE_CODE_OLD_VERSION)


@pytest.fixture(scope="session")
def e2e_root() -> Iterator[Path]:
    """A scratch directory outside any git checkout (the CLI would adopt the repository as its project)."""
    root = Path(tempfile.mkdtemp(prefix="otel-claude-e2e-")).resolve()
    if _inside_git_checkout(root):
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"{root} lies inside a git checkout; set TMPDIR to a directory outside it")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_factory(e2e_root: Path) -> Iterator[SandboxFactory]:
    """make(version, scenario) -> a fresh Sandbox (its own HOME, project and stand-in); closed at the end."""
    made: list[Sandbox] = []

    def make(version: str, scenario: str) -> Sandbox:
        sandbox = Sandbox(Path(tempfile.mkdtemp(prefix=f"{scenario}-", dir=e2e_root)), version, scenario)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()
