"""Loading the redaction corpora (tests/redaction/corpus/) and judging leaks."""

from __future__ import annotations

import json
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
SECRETS_FILE = CORPUS / "secrets.jsonl"
BENIGN_DIR = CORPUS / "benign"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.330"

# Ordinary standard-library code that handles credentials a lot (auth handlers, cookies, netrc, smtp,
# imap...) next to code that does not: a hard test of false positives. The running interpreter's own
# copy is read, so nothing needs committing.
STDLIB_MODULES = (
    "urllib/request.py",
    "urllib/parse.py",
    "http/client.py",
    "http/cookies.py",
    "http/cookiejar.py",
    "smtplib.py",
    "imaplib.py",
    "ftplib.py",
    "poplib.py",
    "netrc.py",
    "getpass.py",
    "hmac.py",
    "secrets.py",
    "base64.py",
    "tokenize.py",
    "json/decoder.py",
    "json/encoder.py",
    "argparse.py",
    "logging/__init__.py",
    "logging/handlers.py",
    "configparser.py",
    "shlex.py",
    "subprocess.py",
    "ssl.py",
    "email/utils.py",
    "email/_header_value_parser.py",
    "xmlrpc/client.py",
    "textwrap.py",
    "zipfile.py",
    "tarfile.py",
)

# A secret leaks when any 16-character piece of it survives (a part of a key is as bad as all of it);
# shorter secrets leak when they survive whole.
LEAK_WINDOW = 16


@dataclass(frozen=True)
class Planted:
    id: int
    kind: str
    context: str
    secret: str
    text: str


def planted_secrets() -> list[Planted]:
    lines = SECRETS_FILE.read_text(encoding="utf-8").split("\n")
    return [Planted(**json.loads(line)) for line in lines if line.strip()]


def leaks(secret: str, output: str) -> bool:
    if len(secret) <= LEAK_WINDOW:
        return secret in output
    return any(secret[i : i + LEAK_WINDOW] in output for i in range(len(secret) - LEAK_WINDOW + 1))


def benign_text_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    own = sorted(p for p in BENIGN_DIR.iterdir() if p.suffix != ".json")
    return own + [stdlib / m for m in STDLIB_MODULES if (stdlib / m).exists()]


def benign_json_documents() -> Iterator[tuple[str, Any]]:
    """(origin, document): the committed JSON samples, the fixture HookInputs (one per event type and the
    recorded sessions' streams) and the fixture transcripts."""
    for path in sorted(BENIGN_DIR.glob("*.json")):
        yield path.name, json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((FIXTURES / "hooks").glob("*.json")):
        for i, payload in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            yield f"hooks/{path.name}[{i}]", payload
    for path in sorted(FIXTURES.glob("sessions/*/hooks.jsonl")):  # recorded hook streams: {"event", "ts", "payload"}
        for i, line in enumerate(path.read_text(encoding="utf-8").split("\n")):
            if line.strip():
                yield f"{path.parent.name}/hooks.jsonl:{i + 1}", json.loads(line)["payload"]
    for path in sorted(FIXTURES.glob("sessions/*/transcripts/**/*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").split("\n")):  # not splitlines: U+2028 is data
            try:
                document = json.loads(line)
            except ValueError:  # a few recorded lines are cut in two by a raw newline: not JSON, skipped
                continue
            yield f"{path.name}:{i + 1}", document


def string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)
    elif isinstance(value, str):
        yield value
