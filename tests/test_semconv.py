"""The names we share with upstream conventions still match upstream's own constants."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Final

import pytest
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import session_attributes, telemetry_attributes, user_attributes
from opentelemetry.semconv.attributes import error_attributes, service_attributes

from otel_claude import semconv as sc


def test_shared_attribute_names_match_upstream() -> None:
    pairs = {
        sc.GEN_AI_OPERATION_NAME: gen_ai.GEN_AI_OPERATION_NAME,
        sc.GEN_AI_PROVIDER_NAME: gen_ai.GEN_AI_PROVIDER_NAME,
        sc.GEN_AI_CONVERSATION_ID: gen_ai.GEN_AI_CONVERSATION_ID,
        sc.GEN_AI_AGENT_ID: gen_ai.GEN_AI_AGENT_ID,
        sc.GEN_AI_AGENT_NAME: gen_ai.GEN_AI_AGENT_NAME,
        sc.GEN_AI_TOOL_NAME: gen_ai.GEN_AI_TOOL_NAME,
        sc.GEN_AI_TOOL_CALL_ID: gen_ai.GEN_AI_TOOL_CALL_ID,
        sc.GEN_AI_TOOL_TYPE: gen_ai.GEN_AI_TOOL_TYPE,
        sc.GEN_AI_REQUEST_MODEL: gen_ai.GEN_AI_REQUEST_MODEL,
        sc.GEN_AI_RESPONSE_MODEL: gen_ai.GEN_AI_RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_ID: gen_ai.GEN_AI_RESPONSE_ID,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: gen_ai.GEN_AI_RESPONSE_FINISH_REASONS,
        sc.GEN_AI_USAGE_INPUT_TOKENS: gen_ai.GEN_AI_USAGE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
        sc.GEN_AI_TOKEN_TYPE: gen_ai.GEN_AI_TOKEN_TYPE,
        sc.ERROR_TYPE: error_attributes.ERROR_TYPE,
        sc.SERVICE_NAME: service_attributes.SERVICE_NAME,
        sc.SESSION_ID: session_attributes.SESSION_ID,
        sc.USER_NAME: user_attributes.USER_NAME,
        sc.TELEMETRY_DISTRO_NAME: telemetry_attributes.TELEMETRY_DISTRO_NAME,
        sc.TELEMETRY_DISTRO_VERSION: telemetry_attributes.TELEMETRY_DISTRO_VERSION,
    }
    for ours, upstream in pairs.items():
        assert ours == upstream
    assert sc.GEN_AI_OPERATION_CHAT == gen_ai.GenAiOperationNameValues.CHAT.value
    assert sc.GEN_AI_OPERATION_EXECUTE_TOOL == gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value
    assert sc.GEN_AI_OPERATION_INVOKE_AGENT == gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value


def test_our_metric_names_never_collide_with_claude_codes_native_ones() -> None:
    native = {"claude_code.session.count", "claude_code.lines_of_code.count", "claude_code.pull_request.count",
              "claude_code.commit.count", "claude_code.cost.usage", "claude_code.token.usage",
              "claude_code.code_edit_tool.decision", "claude_code.active_time.total"}  # fmt: skip
    ours = {getattr(sc, name) for name in dir(sc) if name.startswith("METRIC_")}
    assert not ours & native
    assert all(name.startswith(("otel_claude.", "gen_ai.")) for name in ours)


# A name of ours, dotted (`claude_code.tool.outcome`, `gen_ai.usage.`) or as Prometheus stores it
# (`otel_claude_tool_calls_total`, `claude_code_project`), anywhere in a literal that is not prose.
_OUR_NAME = re.compile(r"(?<![A-Za-z0-9])(?:claude_code|otel_claude|gen_ai)[._][A-Za-z0-9]")
_QUOTED_IN_PROSE = re.compile(r"`[^`]*`")
# Literals that match the pattern but name no telemetry.
NOT_TELEMETRY: Final = {"otel_claude_next_ids"}  # the ContextVar's own name in export/ids.py
ROOT = Path(__file__).resolve().parents[1]


def _semconv_names() -> set[str]:
    """Every dotted name semconv defines (`session.id` too, which has none of our prefixes).

    Their Prometheus forms are left to the pattern: `session_id` is also a HookInput field.
    """
    return {v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str) and "." in v}


def telemetry_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) for each string literal in `source` that spells one of our telemetry names.

    Docstrings are documentation; prose in other strings may name a telemetry name in backticks.
    """
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    known = _semconv_names()
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        text = _QUOTED_IN_PROSE.sub("", node.value)
        if node.value in NOT_TELEMETRY:
            continue
        if _OUR_NAME.search(text) or node.value in known:
            found.append((node.lineno, node.col_offset, node.value))
    return [(line, value) for line, _, value in sorted(found)]


def _sources() -> list[Path]:
    package = [p for p in (ROOT / "otel_claude").rglob("*.py") if p.name != "semconv.py"]
    return sorted(package) + sorted((ROOT / "grafana").glob("*.py"))


def test_no_module_but_semconv_spells_a_telemetry_name() -> None:
    sources = _sources()
    assert len(sources) > 50 and any(p.name == "promql.py" for p in sources)
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {value!r}"
        for path in sources
        for line, value in telemetry_literals(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "put these names in otel_claude/semconv.py"


def test_the_guard_catches_planted_literals() -> None:
    sample = '''
"""Module docstring may say `otel_claude_tool_calls_total` and claude_code.tool.outcome."""
HELP = "The `claude_code.project` label is made from the session's directory."
A = "claude_code.tool.outcome"
B = "otel_claude_tool_calls_total"
C = f"{x}otel_claude.tool.calls{y}"
D = "span.gen_ai.tool.name"
E = "gen_ai_request_model"
F = "session.id"
G = 'sum(otel_claude_cost_USD_total) by (model)'
H = "otel_claude"
I = "otel_claude_next_ids"
'''
    found = [value for _, value in telemetry_literals(sample)]
    assert found == [
        "claude_code.tool.outcome",
        "otel_claude_tool_calls_total",
        "otel_claude.tool.calls",
        "span.gen_ai.tool.name",
        "gen_ai_request_model",
        "session.id",
        "sum(otel_claude_cost_USD_total) by (model)",
    ]


@pytest.mark.parametrize("unit", [sc.UNIT_SECONDS, sc.UNIT_USD, sc.UNIT_BYTES, sc.UNIT_TOKEN, "{call}", ""])
def test_prometheus_names_match_the_sdk_exporters_translation(unit: str) -> None:
    from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_full_name

    for name in (getattr(sc, key) for key in dir(sc) if key.startswith("METRIC_")):
        upstream = sanitize_full_name(name) + (f"_{map_unit(unit)}" if map_unit(unit) else "")
        assert sc.prometheus_metric(name, unit) == upstream
        assert sc.prometheus_metric(name, unit, counter=True) == upstream + "_total"
    assert sc.prometheus_name(sc.GEN_AI_TOOL_NAME) == "gen_ai_tool_name"
