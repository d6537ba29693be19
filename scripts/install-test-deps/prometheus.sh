#!/usr/bin/env bash
# Installs Debian's `prometheus` package, which provides the `prometheus` and `promtool` binaries that
# tests/stack runs against the dashboards and alert rules. Idempotent: nothing to do when both exist.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    echo "prometheus.sh: $(prometheus --version 2>&1 | head -n 1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
${SUDO} apt-get update -qq
# --no-install-recommends: we only need the binaries, not the exporters and web console assets.
${SUDO} apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package enables and starts a system service (where a service manager runs); the tests start their
# own server on a free loopback port with a temporary data dir, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    ${SUDO} systemctl stop prometheus || true
fi
prometheus --version 2>&1 | head -n 1
