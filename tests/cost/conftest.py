"""Fixtures for the cost tests: the ccusage oracle (the injected providers come from tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

from cost.support import CCUSAGE


@pytest.fixture
def ccusage() -> str:
    """The pinned ccusage binary; missing is a failure under CI, a skip elsewhere."""
    if CCUSAGE.exists():
        return str(CCUSAGE)
    message = f"ccusage not installed at {CCUSAGE}: run scripts/install-test-deps/npm-ccusage.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
