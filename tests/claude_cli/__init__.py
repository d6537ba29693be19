"""End-to-end tests that drive the real Claude Code CLI against a scripted stand-in of the Messages API."""
