"""otel-claude: OpenTelemetry traces and metrics for Claude Code."""

from otel_claude.version import __version__

__all__ = ["__version__"]
