"""Fake secrets planted in the scenarios' prompts, commands and file contents.

Content capture is off by default, and with it on the redactor must scrub these: none may appear in any byte
otel-claude exports (OTLP requests, the Prometheus page). Scenario files refer to them as `{{secret_<name>}}`.
They are made up and match the shapes of real credentials, so a redactor's patterns would catch them.
"""

from __future__ import annotations

PLANTED_SECRETS: dict[str, str] = {
    "aws": "AKIAE2EPLANTED7QXZ4K",
    "github": "ghp_E2ePlantedGithubToken0123456789abcdef",
    "anthropic": "sk-ant-api03-E2ePlantedAnthropicKey_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH-QQ",
    "db_password": "Hunter2E2ePlantedPw",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlMmUtcGxhbnRlZCJ9.E2ePlantedJwtSignature0123456789abcdefXYZ",
    "private_key": "MIIEpAIBAAKCAQEAe2ePlantedPrivateKeyBody0123456789",
}


def scenario_variables() -> dict[str, str]:
    return {f"secret_{name}": value for name, value in PLANTED_SECRETS.items()}


def leaked(data: bytes | str) -> list[str]:
    """Names of the planted secrets that occur in `data`."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [name for name, value in PLANTED_SECRETS.items() if value in text]
