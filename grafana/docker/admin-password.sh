#!/bin/sh
# Entrypoint wrapper for the Grafana container: `docker compose up` works with no variable set, and no
# well-known password ever guards the admin account.
#
# - GRAFANA_ADMIN_PASSWORD set (non-empty): that password is used, as before.
# - otherwise: a random password is generated on the first start, kept in the Grafana data volume
#   ($GF_PATHS_DATA/admin-password, mode 0600) and printed once, in this container's first log lines
#   (`docker compose logs grafana | grep 'admin password'`). Later starts reuse the file silently.
#
# Grafana applies the admin password only when it creates its database (the first start); to change it
# afterwards use `docker compose exec grafana grafana cli admin reset-admin-password NEW`.
# Then hands over to the image's own entrypoint (/run.sh, which starts `grafana server`).
set -eu

data_dir="${GF_PATHS_DATA:-/var/lib/grafana}"
password_file="$data_dir/admin-password"

if [ -n "${GRAFANA_ADMIN_PASSWORD:-}" ]; then
    GF_SECURITY_ADMIN_PASSWORD="$GRAFANA_ADMIN_PASSWORD"
else
    if [ ! -s "$password_file" ]; then
        umask 077
        # 24 characters from [A-Za-z0-9]: about 143 bits. tr and head are in every image with a shell.
        generated="$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 24)"
        printf '%s' "$generated" > "$password_file.tmp"
        mv "$password_file.tmp" "$password_file"
        # One line, so `docker compose logs grafana | grep 'admin password'` shows the password itself.
        echo "otel-claude: Grafana admin password: $generated (user admin; generated on the first start and printed once, kept in $password_file)"
    fi
    GF_SECURITY_ADMIN_PASSWORD="$(cat "$password_file")"
fi
export GF_SECURITY_ADMIN_PASSWORD
unset GRAFANA_ADMIN_PASSWORD

exec "${GRAFANA_ENTRYPOINT:-/run.sh}" "$@"
