"""Token budgeting and request helpers for a small LLM client (ordinary code: nothing here is secret)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
FALLBACK_MODELS = ("claude-opus-4-1-20250805", "claude-haiku-4-5-20251001", "claude-3-5-sonnet-20241022")
MAX_TOKENS = 4096
MAX_OUTPUT_TOKENS = 8192
TOKEN_LIMIT = 200_000
PASSWORD_MIN_LENGTH = 12
TOKEN_EXPIRY_SECONDS = 3600
SECRET_NAME = "anthropic-api-key"
API_KEY_ENV = "ANTHROPIC_API_KEY"
API_KEY_HEADER = "x-api-key"
AUTH_SCHEME = "Bearer"
TOKEN_URL = "https://auth.example.com/oauth/token"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    per_model: dict[str, int] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens


@dataclass
class ClientConfig:
    model: str = DEFAULT_MODEL
    max_tokens: int = MAX_TOKENS
    temperature: float = 0.2
    api_key: str | None = None
    auth_token: str | None = None
    base_url: str = "https://api.anthropic.com"
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls) -> ClientConfig:
        api_key = os.environ.get(API_KEY_ENV)
        auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not api_key and not auth_token:
            raise RuntimeError(f"set {API_KEY_ENV} or ANTHROPIC_AUTH_TOKEN")
        return cls(api_key=api_key, auth_token=auth_token)

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
        if self.api_key:
            headers[API_KEY_HEADER] = self.api_key
        elif self.auth_token:
            headers["authorization"] = f"{AUTH_SCHEME} {self.auth_token}"
        return headers


def count_tokens(text: str) -> int:
    """A rough estimate: four characters per token."""
    return max(1, len(text) // 4)


def tokenize(text: str) -> list[str]:
    tokens = re.findall(r"\w+|[^\w\s]", text)
    return tokens


def truncate_to_budget(messages: list[dict[str, Any]], token_limit: int = TOKEN_LIMIT) -> list[dict[str, Any]]:
    budget = token_limit
    kept: list[dict[str, Any]] = []
    for message in reversed(messages):
        cost = count_tokens(json.dumps(message))
        if cost > budget:
            break
        kept.append(message)
        budget -= cost
    return list(reversed(kept))


def validate_password(password: str) -> list[str]:
    """Return the rules a new password breaks (for the signup form)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"at least {PASSWORD_MIN_LENGTH} characters")
    if password.lower() == password:
        problems.append("one upper-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("one digit")
    return problems


def hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 600_000)
    return digest.hex()


def cache_key(model: str, prompt: str) -> str:
    key = hashlib.sha256(f"{model}\n{prompt}".encode()).hexdigest()
    return key[:32]


class TokenCache:
    """Keeps OAuth access tokens until shortly before they expire."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tokens: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        if self.path.exists():
            self.tokens = json.loads(self.path.read_text())

    def get(self, client_id: str, now: float) -> str | None:
        entry = self.tokens.get(client_id)
        if entry is None or entry["expires_at"] - 60 < now:
            return None
        token: str = entry["access_token"]
        return token

    def put(self, client_id: str, token: str, expires_in: int, now: float) -> None:
        self.tokens[client_id] = {"access_token": token, "expires_at": now + expires_in}
        self.path.write_text(json.dumps(self.tokens))
        os.chmod(self.path, 0o600)


def refresh(cache: TokenCache, client_id: str, client_secret: str, now: float) -> str:
    token = cache.get(client_id, now)
    if token:
        return token
    response = post_form(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    )
    token = str(response["access_token"])
    cache.put(client_id, token, int(response.get("expires_in", TOKEN_EXPIRY_SECONDS)), now)
    return token


def post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    raise NotImplementedError(url)


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def summarize(usage: Usage, session_id: str = "c77f9869-7342-4145-9251-6b7551d2e158") -> str:
    logger.info("session %s used %s tokens", session_id, usage.total_tokens)
    return (
        f"input_tokens={usage.input_tokens} output_tokens={usage.output_tokens} "
        f"cache_read={usage.cache_read_input_tokens} total={usage.total_tokens}"
    )


if __name__ == "__main__":
    config = ClientConfig(api_key=os.environ.get(API_KEY_ENV), max_tokens=1024)
    print(config.headers().keys())
    print(validate_password("short"))
    print(summarize(Usage(input_tokens=12, output_tokens=5)))
