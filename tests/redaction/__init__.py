"""Tests of otel_claude.redaction: the secret and benign corpora, the scrubber, the span processor, properties."""
