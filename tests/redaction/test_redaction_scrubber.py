"""scrub_value and scrub_mapping: value types, JSON in strings, key rules, the allow-list, markers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_claude import semconv as sc
from otel_claude.redaction import Scrubber, SecretPattern, scrub_mapping, scrub_value
from otel_claude.redaction.keys import is_sensitive_key

ANTHROPIC = "sk-ant-api03-" + "Xq9vT3bLm2Kp8RwZ4nYc6HdF1gJs5AeU7iO0tQabcDEF123ghiJKL" * 2 + "AA"
GITHUB = "ghp_1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU"


@pytest.mark.parametrize(
    ("text", "kept", "gone", "name"),
    [
        (f"export ANTHROPIC_API_KEY={ANTHROPIC}", "export ANTHROPIC_API_KEY=", ANTHROPIC, "anthropic_api_key"),
        (f"git clone https://x-access-token:{GITHUB}@github.com/a/b", "@github.com/a/b", GITHUB, "github_token"),
        ("postgres://app:s3cr3tPassw0rd@db:5432/app", "postgres://app:", "s3cr3tPassw0rd", "db_connection_password"),
        ("https://bob:hunter2pw@example.com/x", "https://bob:", "hunter2pw", "url_password"),
        (
            'curl -H "Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" https://x',
            "Authorization: Bearer ",
            "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
            "bearer_token",
        ),
        ("Authorization: Basic dXNlcjpzM2NyM3Q=", "Authorization: Basic ", "dXNlcjpzM2NyM3Q=", "basic_auth"),
        ("DB_PASSWORD=hunter2\nPORT=8080", "PORT=8080", "hunter2", "env_assignment"),
        ("password: correcthorse\nuser: bob", "user: bob", "correcthorse", "generic_secret"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key",
        ),
        (
            "The staging db password is Hunter2E2ePlantedPw.",
            "The staging db password is ",
            "Hunter2E2ePlantedPw",
            "generic_secret",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v\n-----END OPENSSH PRIVATE KEY-----\nok",
            "\nok",
            "b3BlbnNzaC1rZXktdjEAAAAABG5v",
            "private_key",
        ),
        # A flag's value is the whole shell word: found by Hypothesis, `password=` alone was taken as the value.
        ('x --Pass password="Hunter47Blue!3" y', "x --Pass ", "Hunter47Blue!3", "generic_secret"),
        ("--password abc'def'ghi next", " next", "def", "generic_secret"),
    ],
)
def test_secrets_in_text(text: str, kept: str, gone: str, name: str) -> None:
    out, names = scrub_value(text)
    assert gone not in out
    assert kept in out
    assert f"[REDACTED:{name}]" in out
    assert name in names


@pytest.mark.parametrize(
    "text",
    [
        "token = get_token()\npassword: str\nmax_tokens = 1024\nfoo(api_key=key)\n",
        "def login(username, password=None):\n    token = self.tokens[0]\n",
        "const headers = { Authorization: `Bearer ${token}` };",
        'export GITHUB_TOKEN="$(gh auth token)"\nPASSWORD=${DB_PASSWORD}\n',
        "password: ${DB_PASSWORD}\napi_key: <your-api-key>\nsecret: ''\ntoken: null\n",
        "The token expired; ask for a new API key. Basic usage is described below.",
        'auth = "Basic " + base64.b64encode(raw).decode()\nuser_pass = "%s:%s" % (user, passwd)',
        "if token == expected_token: return True",
        "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.123\nPWD=/home/dev/project\nOLDPWD=/home/dev",
        "apiKeySource: ANTHROPIC_API_KEY\nsecretName: db-credentials\ntoken_count: 12",
        "https://example.com/docs?page=2#usage and ssh://git@github.com:22/acme/repo.git",
    ],
)
def test_ordinary_code_and_prose_untouched(text: str) -> None:
    assert scrub_value(text) == (text, [])


def test_unchanged_values_are_the_same_objects() -> None:
    for value in ("hello world, nothing here", b"bytes too", ["a", "b"], ("x",), {"k": "v"}, 42, None, 1.5, True):
        out, names = scrub_value(value)
        assert out is value and names == []


def test_bytes_keep_undecodable_bytes() -> None:
    raw = b"\xff\xfe token=" + GITHUB.encode() + b" \x80end"
    out, names = scrub_value(raw)
    assert isinstance(out, bytes)
    assert GITHUB.encode() not in out
    assert out.startswith(b"\xff\xfe token=[REDACTED:github_token]") and out.endswith(b" \x80end")
    assert names == ["github_token"]


def test_sequences_keep_their_type() -> None:
    out, names = scrub_value(("plain", f"key {GITHUB}"))
    assert out == ("plain", "key [REDACTED:github_token]") and names == ["github_token"]
    out_list, _ = scrub_value(["plain", GITHUB])
    assert out_list == ["plain", "[REDACTED:github_token]"]


def test_json_string_is_parsed_and_reserialized() -> None:
    doc = {
        "username": "svc",
        "password": "hunter2",
        "input_tokens": 12,
        "max_tokens": 1024,
        "nested": [{"api_key": 7}],
        "session_id": "c77f9869-7342-4145-9251-6b7551d2e158",
        "note": "Grüße",
    }
    out, names = scrub_value(json.dumps(doc, ensure_ascii=False))
    parsed = json.loads(out)
    assert parsed["password"] == "[REDACTED:sensitive_key]"
    assert parsed["input_tokens"] == 12 and parsed["max_tokens"] == 1024
    assert parsed["nested"] == [{"api_key": 7}]  # numbers are not secrets we can tell apart from counts
    assert parsed["session_id"] == doc["session_id"] and parsed["note"] == "Grüße"
    assert names == ["sensitive_key"]
    compact = json.dumps(doc, separators=(",", ":"))
    assert '", "' not in scrub_value(compact)[0]  # a compact document stays compact


def test_json_inside_json_strings() -> None:
    inner = json.dumps({"client_secret": "s3cr3t-value-1"})
    outer = json.dumps({"tool_input": {"content": inner}, "tool_use_id": "toolu_019aece0a97c49305cc5975b"})
    out, names = scrub_value(outer)
    assert names == ["sensitive_key"]
    assert "s3cr3t-value-1" not in out
    assert json.loads(json.loads(out)["tool_input"]["content"]) == {"client_secret": "[REDACTED:sensitive_key]"}
    assert "toolu_019aece0a97c49305cc5975b" in out


def test_objects_under_secret_keys() -> None:
    out, _ = scrub_value({"secret": {"value": "hunter2"}, "credentials": ["tok-abc-123"]})
    assert out == {"secret": {"value": "[REDACTED:sensitive_key]"}, "credentials": ["[REDACTED:sensitive_key]"]}
    auth = {"auth": {"type": "oauth", "tokenUrl": "https://auth.example.com/token", "expiresIn": 3600}}
    assert scrub_value(auth) == (auth, [])


def test_gcp_service_account_is_named() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    doc = {"type": "service_account", "project_id": "acme", "private_key_id": "a" * 40, "private_key": key}
    out, names = scrub_value(json.dumps(doc))
    parsed = json.loads(out)
    assert parsed["private_key"] == parsed["private_key_id"] == "[REDACTED:gcp_service_account]"
    assert parsed["project_id"] == "acme" and set(names) == {"gcp_service_account"}


def test_deep_json_falls_back_to_text_rules() -> None:
    deep = "[" * 5000 + json.dumps({"password": "hunter2"}) + "]" * 5000
    out, names = scrub_value(deep)
    assert "hunter2" not in out and names


def test_lone_surrogate_escapes_stay_encodable() -> None:
    doc = '{"text": "\\ud800 x", "password": "hunter2"}'
    out, _ = scrub_value(doc)
    out.encode("utf-8")  # an OTLP exporter must be able to send it
    assert "hunter2" not in out


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("DB_PASSWORD", True),
        ("api_key", True),
        ("x-api-key", True),
        ("apiKey", True),
        ("accessToken", True),
        ("X-Amz-Security-Token", True),
        ("Authorization", True),
        ("client_secret", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("MYSQL_PWD", True),
        ("Set-Cookie", True),
        ("private_key_id", True),
        ("AccountKey", True),
        ("client-key-data", True),
        ("secret_key_base", True),
        ("API_KEY_2", True),
        ("input_tokens", False),
        ("output_tokens", False),
        ("max_tokens", False),
        ("token_count", False),
        ("tokenizer", False),
        ("secret_name", False),
        ("secretKeyRef", False),
        ("apiKeySource", False),
        ("password_min_length", False),
        ("auth_type", False),
        ("primary_key", False),
        ("key", False),
        ("public_key", False),
        ("needsAuthMcpServers", False),
        ("gen_ai.usage.input_tokens", False),
        ("secretary", False),
        ("keyboard", False),
    ],
)
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_scrub_mapping_allow_list_sensitive_keys_and_changed_keys() -> None:
    attrs: dict[str, Any] = {
        sc.SESSION_ID: "c77f9869-7342-4145-9251-6b7551d2e158",
        sc.GEN_AI_TOOL_CALL_ID: "toolu_019aece0a97c49305cc5975b",
        sc.GEN_AI_REQUEST_MODEL: "claude-opus-5-5",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 2496,
        sc.CC_REQUEST_ID: "req_011CUaHq7bDk5P3x9YzW2mNc",
        sc.CC_TOOL_SUMMARY: f"export GH={GITHUB}",
        "http.request.header.authorization": ("Bearer abc",),
        "http.request.header.x_api_key": "plain-looking",
        sc.CC_PROMPT: "nothing secret",
        sc.CC_TOOL_DURATION_MS: 33,
    }
    out, changed = scrub_mapping(attrs)
    assert changed == [sc.CC_TOOL_SUMMARY, "http.request.header.authorization", "http.request.header.x_api_key"]
    assert out[sc.CC_TOOL_SUMMARY] == "other"  # a name attribute: bounded, not scrubbed as text
    assert out["http.request.header.authorization"] == ("[REDACTED:sensitive_key]",)
    assert out["http.request.header.x_api_key"] == "[REDACTED:sensitive_key]"
    for key in (
        sc.SESSION_ID,
        sc.GEN_AI_TOOL_CALL_ID,
        sc.GEN_AI_REQUEST_MODEL,
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.CC_REQUEST_ID,
        sc.CC_PROMPT,
        sc.CC_TOOL_DURATION_MS,
    ):
        assert out[key] == attrs[key]


def test_allow_listed_attributes_are_never_looked_at() -> None:
    class Exploding(Scrubber):
        def scrub_value(self, value: Any) -> Any:
            raise AssertionError(f"looked at {value!r}")

    result = Exploding().scrub_attributes({sc.GEN_AI_TOOL_CALL_ID: "toolu_01", sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5})
    assert result.changed_keys == []


def test_extra_patterns_and_safe_keys() -> None:
    scrubber = Scrubber(
        extra_patterns=[SecretPattern("acme_token", r"acme_[0-9a-f]{16}", ("acme_",))],
        extra_safe_keys=["acme.build.id"],
    )
    assert scrubber.scrub_value("t=acme_0123456789abcdef ok") == ("t=[REDACTED:acme_token] ok", ["acme_token"])
    result = scrubber.scrub_attributes({"acme.build.id": "acme_0123456789abcdef", "other": "acme_0123456789abcdef"})
    assert result.attributes == {"acme.build.id": "acme_0123456789abcdef", "other": "[REDACTED:acme_token]"}


def test_markers_are_left_alone_on_a_second_pass() -> None:
    text = "password: hunter22\nurl=https://u:pw12345@h/x\ntoken is abc123def456\n" + GITHUB
    once, _ = scrub_value(text)
    assert scrub_value(once) == (once, [])


@pytest.mark.parametrize(
    "text",
    [
        "token=" * 50_000,
        "key " * 50_000,
        "-----BEGIN RSA PRIVATE KEY-----!" * 5_000,
        "://a:" * 50_000,
        'password: "' + "a" * 200_000,
        "Bearer " * 30_000,
        "curl -u " * 30_000,
        "a" * 300_000,
        "machine x login y password " * 5_000,
        "--password " * 20_000,
        '"secret": {' * 20_000,
        ('"secret": {' + "a" * 100) * 2_000,
        "sshpass " * 40_000 + "-p",
        "echo x | " * 20_000,
        "https://a:b@" * 20_000,
        "Q" * 20 + "xY3" * 50_000,
    ],
)
def test_adversarial_inputs_complete(text: str) -> None:
    # Inputs built to make a backtracking regex explode. The time is measured by
    # benchmarks/bench_redaction.py; here they only have to finish and return text of a sane size.
    out, _ = scrub_value(text)
    assert isinstance(out, str) and len(out) < 2 * len(text) + 100
