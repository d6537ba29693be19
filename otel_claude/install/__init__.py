"""Installing into Claude Code's settings."""
