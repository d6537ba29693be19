#!/usr/bin/env bash
# Installs Debian's `prometheus-alertmanager` package for its `amtool`, which tests/stack/test_alertmanager.py
# runs on the rendered alertmanager/alertmanager.yml (`amtool check-config`). Idempotent.
set -euo pipefail

if command -v amtool >/dev/null 2>&1; then
    echo "alertmanager.sh: $(amtool --version 2>&1 | head -n 1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
${SUDO} apt-get update -qq
${SUDO} apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
# The package enables a system service where a service manager runs; the tests only need amtool.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
    ${SUDO} systemctl stop prometheus-alertmanager || true
fi
amtool --version 2>&1 | head -n 1
