"""Where the Debian prometheus and promtool binaries are (scripts/install-test-deps/prometheus.sh)."""

from __future__ import annotations

from support.prometheus import PROMETHEUS_BIN, PROMTOOL_BIN, find_binary

from .stack_files import require_tool


def prometheus() -> str:
    return require_tool(find_binary(PROMETHEUS_BIN), "prometheus", "prometheus.sh")


def promtool() -> str:
    return require_tool(find_binary(PROMTOOL_BIN), "promtool", "prometheus.sh")
