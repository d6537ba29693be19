"""The session-wide span attributes and metric labels (transcripts/attributes.py), remembered per session.

They are asked for on every event, metric point and span of a session, and depend only on a few of its values:
built once per distinct set (bounded), and handed out read-only, since every caller shares the one value.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

from otel_claude.transcripts.attributes import SessionAttributes, session_attributes

MAX_REMEMBERED = 1024  # distinct (session, project, user, model) sets: a few per session in flight


@functools.lru_cache(maxsize=MAX_REMEMBERED)
def shared_session_attributes(
    session_id: str, project: str | None, user_name: str = "", model: str | None = None
) -> SessionAttributes:
    """`session_attributes(...)` for the live agent, read-only (copy before changing)."""
    built = session_attributes(session_id, project, user_name, model)
    return SessionAttributes(span=MappingProxyType(dict(built.span)), metric=MappingProxyType(dict(built.metric)))
