"""The session-wide span attributes and metric labels, built in one place for the live agent and backfill.

One value, two named fields, as contrib's util-genai splits an invocation's attributes: `span` goes on every span
of the session (ids included, so Tempo finds all turns of a session), `metric` is the low-cardinality set every
metric point carries (never a session id, prompt, path or command). Live and backfill both call
`session_attributes`, so a series fed by one can never differ in its labels from the same series fed by the other.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.util.types import AttributeValue

from otel_claude import semconv as sc

PROJECT_LABEL_MODES = ("name", "hash", "none")


@dataclass(frozen=True, slots=True)
class SessionAttributes:
    span: Mapping[str, AttributeValue]  # on every span of the session
    metric: Mapping[str, str]  # low cardinality, on every metric point; not set on spans by this value


def project_label(cwd: str | None, mode: str) -> str | None:
    """A bounded label for the session's project: the directory name, a short hash of the path, or none."""
    if not cwd or mode == "none":
        return None
    digest = hashlib.sha256(cwd.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    if mode == "hash":
        return digest
    name = os.path.basename(os.path.normpath(cwd)) or "/"
    # Imported here: backfill's reader processes use this module but never label a project (the scrubber's
    # patterns cost them 50 ms of start-up).
    from otel_claude.redaction.names import is_bounded_project

    # A directory name that does not look like a name (a token, a sentence) goes out as its hash instead.
    return name if name == "/" or is_bounded_project(name) else digest


def session_attributes(
    session_id: str,
    project: str | None,
    user_name: str = "",
    model: str | None = None,
    *,
    backfill: bool = False,
) -> SessionAttributes:
    """What every span and every metric point of one session carries.

    `model` is the session's model when known (SessionStart names it); an LLM span's own request model wins over
    it. `backfill` marks spans made from past transcripts (`claude_code.backfill`); it is never a metric label,
    so backfilled and live points of a series share one label set.
    """
    optional_span: tuple[tuple[str, AttributeValue | None], ...] = (
        (sc.CC_PROJECT, project),
        (sc.GEN_AI_REQUEST_MODEL, model),
        (sc.CC_BACKFILL, True if backfill else None),
    )
    span: dict[str, AttributeValue] = {
        sc.SESSION_ID: session_id,
        sc.GEN_AI_CONVERSATION_ID: session_id,
        sc.GEN_AI_PROVIDER_NAME: sc.GEN_AI_PROVIDER_ANTHROPIC,
    }
    span.update((name, value) for name, value in optional_span if value is not None)
    optional_metric = ((sc.CC_PROJECT, project), (sc.USER_NAME, user_name))
    metric = {name: value for name, value in optional_metric if value}
    return SessionAttributes(span=span, metric=metric)


def model_labels(metric: Mapping[str, str], model: str, cost_known: bool) -> dict[str, str]:
    """The labels of a call's token, cost and call counters: the session's metric labels, the model, known cost."""
    return {**metric, sc.GEN_AI_REQUEST_MODEL: model, sc.CC_COST_KNOWN: str(cost_known).lower()}
