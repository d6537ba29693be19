#!/usr/bin/env bash
# The whole test suite: sets up .venv, installs what the tests need (Prometheus, Node packages, binaries) with the
# scripts in scripts/install-test-deps/, runs the linters and type checker, then pytest (benchmarks in short mode).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh --test
for installer in scripts/install-test-deps/*.sh; do
  [ -e "$installer" ] || continue
  echo "== $installer"
  bash "$installer"
done
echo "== ruff"; .venv/bin/ruff check otel_claude tests benchmarks grafana
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest "$@"
