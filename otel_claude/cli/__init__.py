"""The `otel-claude` command."""

from __future__ import annotations

from otel_claude.cli.main import main

__all__ = ["main"]
