"""OpenTelemetry SDK plumbing with no knowledge of Claude Code: providers, outbox, emitter, ids, counter totals."""
