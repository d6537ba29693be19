"""The names we share with upstream conventions still match upstream's own constants."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv._incubating.attributes import session_attributes, user_attributes
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


def test_no_module_but_semconv_spells_a_telemetry_name() -> None:
    import ast
    from pathlib import Path

    import otel_claude

    package = Path(otel_claude.__file__).parent
    for module in package.rglob("*.py"):
        if module.name == "semconv.py":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value.startswith(("claude_code.", "gen_ai.", "otel_claude.")) and not value.endswith("."):
                    raise AssertionError(f"{module.name} spells {value!r}: put it in semconv.py")
