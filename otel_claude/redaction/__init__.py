"""Secret redaction for exported telemetry: patterns, a scrubber for values, and a span processor.

Content capture is off by default, so prompts and tool content are not on spans at all; when it is on,
`RedactingSpanProcessor` scrubs every span before any exporter sees it.
"""

from __future__ import annotations

from otel_claude.redaction.patterns import SecretPattern, marker
from otel_claude.redaction.processor import RedactingSpanProcessor
from otel_claude.redaction.scrubber import AttributesResult, Scrubber, scrub_mapping, scrub_value

__all__ = [
    "AttributesResult",
    "RedactingSpanProcessor",
    "Scrubber",
    "SecretPattern",
    "marker",
    "scrub_mapping",
    "scrub_value",
]
