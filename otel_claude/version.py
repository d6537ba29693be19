"""The single source of otel-claude's version."""

__version__ = "0.1.0"
