#!/usr/bin/env bash
# Installs the pinned Claude Code CLI releases (tests/claude_cli/versions.env) into
# .cache/npm/claude-code-<version>/, for the end-to-end tests of tests/claude_cli/; idempotent.
# Newer releases ship the native binary inside the npm package (an optional platform dependency), older
# 2.1.x ones are a single cli.js run by node: both run offline against the tests' stand-in of the API.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../tests/claude_cli/versions.env
source "$ROOT/tests/claude_cli/versions.env"
if ! command -v npm >/dev/null 2>&1; then
    echo "npm-claude-code.sh: npm not found; install nodejs and npm (apt-get install nodejs npm)" >&2
    exit 1
fi
install_one() {
    local version="$1"
    local prefix="$ROOT/.cache/npm/claude-code-$version"
    local bin="$prefix/node_modules/.bin/claude"
    # --version needs no network and no login; a half-finished install fails it and is redone.
    if [[ -x "$bin" ]] && [[ "$(DISABLE_AUTOUPDATER=1 "$bin" --version 2>/dev/null || true)" == "$version"* ]]; then
        return 0
    fi
    mkdir -p "$prefix"
    # A private prefix with its own package.json, so the install never touches the project or the global tree.
    [[ -f "$prefix/package.json" ]] || echo '{"name":"otel-claude-test-claude-code","private":true}' >"$prefix/package.json"
    npm install --prefix "$prefix" --no-audit --no-fund --save-exact "@anthropic-ai/claude-code@$version" >&2
    DISABLE_AUTOUPDATER=1 "$bin" --version >&2
}
install_one "$CLAUDE_CODE_VERSION"
install_one "$CLAUDE_CODE_OLD_VERSION"
