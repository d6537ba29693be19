#!/usr/bin/env bash
# Installs the pinned ccusage (the cost oracle of tests/cost/) into .cache/npm/ccusage; idempotent.
# 20.0.24 is pinned: it runs offline with --offline (its LiteLLM price table is bundled), 20.0.26 is broken on linux-x64.
set -euo pipefail
VERSION=20.0.24
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.cache/npm/ccusage"
BIN="$PREFIX/node_modules/.bin/ccusage"
if [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null || true)" == *"$VERSION"* ]]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm-ccusage.sh: npm not found; install nodejs and npm (apt-get install nodejs npm)" >&2
    exit 1
fi
mkdir -p "$PREFIX"
# A private prefix with its own package.json, so the install never touches the project or the global tree.
[[ -f "$PREFIX/package.json" ]] || echo '{"name":"otel-claude-test-ccusage","private":true}' >"$PREFIX/package.json"
npm install --prefix "$PREFIX" --no-audit --no-fund --save-exact "ccusage@$VERSION" >&2
"$BIN" --version >&2
