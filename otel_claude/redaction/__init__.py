"""Secret redaction for exported telemetry: patterns, a scrubber for values, and a span processor.

Content capture is off by default, so prompts and tool content are not on spans at all; when it is on,
`RedactingSpanProcessor` scrubs every span before any exporter sees it.

The names below load on first use (PEP 562): importing a submodule such as `redaction.names` (backfill's label
checks) must not load the span processor and with it the OTel SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_claude.redaction.patterns import SecretPattern, marker
    from otel_claude.redaction.processor import RedactingSpanProcessor
    from otel_claude.redaction.scrubber import AttributesResult, Scrubber, scrub_mapping, scrub_value

_HOME = {
    "AttributesResult": "scrubber",
    "RedactingSpanProcessor": "processor",
    "Scrubber": "scrubber",
    "SecretPattern": "patterns",
    "marker": "patterns",
    "scrub_mapping": "scrubber",
    "scrub_value": "scrubber",
}

__all__ = [
    "AttributesResult",
    "RedactingSpanProcessor",
    "Scrubber",
    "SecretPattern",
    "marker",
    "scrub_mapping",
    "scrub_value",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
