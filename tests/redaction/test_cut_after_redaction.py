"""Redaction before truncation, and the bounded forms of names, where the agent builds its attributes."""

from __future__ import annotations

import json

from otel_claude.live.error_classes import classify_stop_failure, classify_tool_error, denial_category
from otel_claude.live.span_factory import json_text, project_label
from otel_claude.redaction import scrub_value

from .corpora import leaks

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "x9Kp2LmQ8rT4vW6yZ1aB3cD5eF7gH9iJ0kL2" * 6


def test_a_secret_across_the_cut_is_redacted_before_it() -> None:
    # An STS response whose SessionToken straddles the 4,096-character limit: cut first, the value would lose its
    # closing quote and the JSON its shape, and 150 to 250 characters of the token used to leak.
    filler = "x" * (4096 - 120)
    document = {
        "output": filler,
        "Credentials": {
            "AccessKeyId": "ASIA" + "Q3EGRSZM4XWPTB7N",
            "SessionToken": SESSION_TOKEN,
            "Expiration": "2026-12-01",
        },
    }
    text = json_text(document)
    assert text.endswith("more chars]") and len(text) < 4096 + 40
    assert not leaks(SESSION_TOKEN, text)
    raw = json.dumps(document)
    cut_first = raw[:4096]
    assert leaks(SESSION_TOKEN, scrub_value(cut_first)[0]), "cut first, the tail of the token would leak"


def test_short_values_are_not_touched_here() -> None:
    # Under the limit nothing is cut, so nothing is scrubbed here: the redacting processor does that once.
    assert json_text({"a": "password=hunter2"}) == '{"a": "password=hunter2"}'


def test_project_label_is_the_hash_when_the_name_is_no_name() -> None:
    assert project_label("/home/dev/shop-api", "name") == "shop-api"
    token_dir = "/home/dev/ghp_" + "1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU"
    label = project_label(token_dir, "name")
    assert label is not None and "ghp_" not in label and len(label) == 12
    assert label == project_label(token_dir, "hash")


def test_error_classes_are_bounded() -> None:
    failure = classify_tool_error("Exit code 2\nls: cannot access '/srv/patients/ada': No such file", False)
    assert (failure.error_type, failure.exit_code, failure.description) == (
        "nonzero_exit",
        2,
        "command exited with a nonzero status",
    )
    assert failure.size == len("Exit code 2\nls: cannot access '/srv/patients/ada': No such file")
    assert classify_tool_error("anything at all", True).error_type == "interrupted"
    assert classify_tool_error("File does not exist.", False).error_type == "not_found"
    assert classify_tool_error("Ada Quill's chart is private", False).description == "tool error"
    assert denial_category("Classifier unavailable") == "classifier_unavailable"
    assert denial_category("Ada Quill asked me to stop") == "other"
    stop = classify_stop_failure("rate_limit", '429 {"type":"error","error":{"type":"rate_limit_error","message":"x"}}')
    assert (stop.error, stop.api_error_type, stop.status_code) == ("rate_limit", "rate_limit_error", 429)
    assert classify_stop_failure("made up by Ada", "who knows").error == "other"


def test_real_names_are_kept() -> None:
    from otel_claude.redaction.names import bounded_name, bounded_tool_name

    models = [
        "claude-opus-4-5-20251101",
        "claude-sonnet-4-5-20250929",
        "claude-3-5-haiku-20241022",
        "claude-opus-4-1-20250805[1m]",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-haiku-4-5@20251001",
    ]
    names = [
        "Bash",
        "Explore",
        "general-purpose",
        "statusline-setup",
        "acceptEdits",
        "bypassPermissions",
        "permission_prompt",
        "idle_prompt",
        "end_turn",
        "max_tokens",
        ".py",
        "plugin:code-reviewer",
    ]
    for name in models + names:
        assert bounded_name(name) == name, name
    for tool in (
        "mcp__github__create_issue",
        "mcp__plugin_github_github__create_pull_request",
        "mcp__claude-in-chrome__navigate",
    ):
        assert bounded_tool_name(tool) == tool


def test_a_long_output_is_scrubbed_around_the_cut_only() -> None:
    # A 2 MB tool output with an env line across the 1,000-character cut: the window around the cut holds the
    # whole key and value, so the part kept holds none of it (and the rest is never scanned at all).
    secret = "Xq9vT3bLm2Kp8RwZ4nYc6HdF1gJs5AeU"
    text = "a" * 960 + f"\nDB_PASSWORD={secret}\n" + "b" * 2_000_000
    out = json_text(text, 1000)
    assert out.startswith("a" * 960) and out.endswith(f"...[{len(text) - 1000} more chars]")
    assert not leaks(secret, out)


def test_ids_pass_in_the_shapes_claude_code_makes_and_are_scrubbed_otherwise() -> None:
    from otel_claude import semconv as sc
    from otel_claude.redaction import scrub_mapping

    ids = {
        sc.SESSION_ID: "c77f9869-7342-4145-9251-6b7551d2e158",
        sc.GEN_AI_AGENT_ID: "ae0930d159505e5e8",
        sc.GEN_AI_TOOL_CALL_ID: "toolu_019aece0a97c49305cc5975b",
        sc.GEN_AI_RESPONSE_ID: "msg_01XFDUDYJgAACzvnptvVoYEL",
    }
    assert scrub_mapping(ids) == (ids, [])
    token = "ghp_" + "1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU"
    out, changed = scrub_mapping({sc.CC_PROMPT_ID: token})
    assert changed == [sc.CC_PROMPT_ID] and token not in out[sc.CC_PROMPT_ID]
