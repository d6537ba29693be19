#!/usr/bin/env bash
# The main job: set up, install the hook into Claude Code, start the agent, replay a bundled real session,
# and print where the telemetry went. Where Docker runs, the Collector/Tempo/Prometheus/Grafana stack starts too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker compose up -d --wait
  echo "Grafana: http://127.0.0.1:3000 (admin password: docker compose logs grafana | grep 'admin password')"
  echo "Prometheus: http://127.0.0.1:9090, Alertmanager: http://127.0.0.1:9093"
else
  echo "(no Docker engine here: the stack is not started; the agent's own Prometheus endpoint still works)"
fi
.venv/bin/otel-claude demo "$@"
# Where no OTLP endpoint answered (no stack), show the replayed session as the trace Tempo would have held.
echo
.venv/bin/otel-claude trace --if-undelivered --turns 20
