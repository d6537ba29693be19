#!/usr/bin/env bash
# The whole test suite: sets up .venv, installs what the tests need (Prometheus, Node packages, binaries) with the
# scripts in scripts/install-test-deps/, runs the linters and the type checker, then every pytest tier, one by one:
#   fast         a plain `pytest` (unit and in-process integration tests, under a minute)
#   integration  real agent processes          reliability  crash, disk-full, hostile input, security
#   prometheus   the Debian prometheus binary  node         ccusage and the Grafana schema types (Node.js)
#   claude       the real Claude Code CLI      benchmark    each benchmarks/bench_*.py --short --check
# Extra arguments go to every pytest run (e.g. `-q`, `-x`). A tier that collects no test fails the run: a suite
# that ran nothing must not pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh --test
for installer in scripts/install-test-deps/*.sh; do
  [ -e "$installer" ] || continue
  echo "== $installer"
  bash "$installer"
done
echo "== ruff"; .venv/bin/ruff check otel_claude tests benchmarks grafana scripts
.venv/bin/ruff format --check --quiet otel_claude tests benchmarks grafana scripts
echo "== mypy"; .venv/bin/mypy

run_tier() {
  local name=$1; shift
  local started=$SECONDS rc=0
  echo "== pytest: $name tier"
  .venv/bin/python -m pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "the $name tier collected no test: nothing ran" >&2
    exit 1
  elif [ "$rc" -ne 0 ]; then
    echo "the $name tier failed (pytest exit $rc)" >&2
    exit "$rc"
  fi
  echo "== $name tier passed in $((SECONDS - started)) s"
}

run_tier fast "$@"
for tier in integration reliability prometheus node claude benchmark; do
  run_tier "$tier" -m "$tier" "$@"
done
