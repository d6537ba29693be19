#!/usr/bin/env bash
# Installs @grafana/schema (Grafana's own TypeScript types for dashboards and panel options) and the
# TypeScript compiler into .cache/npm; tests/stack type-checks the committed dashboards against them.
# The schema version matches the Grafana image pinned in docker-compose.yml. Idempotent.
set -euo pipefail

SCHEMA_VERSION="13.1.0"
TS_VERSION="5.9.3"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="${ROOT}/.cache/npm"

installed_version() {
    node -e "try{console.log(require('${PREFIX}/node_modules/$1/package.json').version)}catch(e){}" 2>/dev/null
}

if [ "$(installed_version @grafana/schema)" = "${SCHEMA_VERSION}" ] && [ "$(installed_version typescript)" = "${TS_VERSION}" ]; then
    echo "npm-grafana-schema.sh: @grafana/schema ${SCHEMA_VERSION} and typescript ${TS_VERSION} already in ${PREFIX}"
    exit 0
fi

mkdir -p "${PREFIX}"
# A private package.json keeps this install independent of any project-level npm state.
[ -f "${PREFIX}/package.json" ] || echo '{"name": "otel-claude-test-deps", "private": true}' > "${PREFIX}/package.json"
npm install --prefix "${PREFIX}" --no-audit --no-fund --silent --save-exact \
    "@grafana/schema@${SCHEMA_VERSION}" "typescript@${TS_VERSION}"
echo "npm-grafana-schema.sh: installed @grafana/schema $(installed_version @grafana/schema), typescript $(installed_version typescript)"
