#!/bin/sh
# Entrypoint wrapper for the Alertmanager container: renders alertmanager/alertmanager.yml with the
# receivers the environment names (one variable each: ALERT_WEBHOOK_URL, ALERT_EMAIL_TO), then starts
# Alertmanager on the rendered file. Alertmanager's config has no environment expansion of its own; values are
# written as single-quoted YAML scalars (a quote doubled), so no character in them can change the structure.
set -eu

template="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
rendered="${ALERTMANAGER_RENDERED:-/alertmanager/rendered.yml}"
marker="# otel-claude: receivers from the environment go here"

quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

receivers() {
    if [ -n "${ALERT_WEBHOOK_URL:-}" ]; then
        printf '    webhook_configs:\n'
        printf '      - url: %s\n' "$(quote "$ALERT_WEBHOOK_URL")"
        printf '        send_resolved: true\n'
    fi
    if [ -n "${ALERT_EMAIL_TO:-}" ]; then
        printf '    email_configs:\n'
        printf '      - to: %s\n' "$(quote "$ALERT_EMAIL_TO")"
        printf '        from: %s\n' "$(quote "${ALERT_EMAIL_FROM:-otel-claude-alertmanager@localhost}")"
        printf '        smarthost: %s\n' "$(quote "${ALERT_SMTP_SMARTHOST:-host.docker.internal:25}")"
        if [ -n "${ALERT_SMTP_USERNAME:-}" ]; then
            printf '        auth_username: %s\n' "$(quote "$ALERT_SMTP_USERNAME")"
            printf '        auth_password: %s\n' "$(quote "${ALERT_SMTP_PASSWORD:-}")"
        fi
        printf '        send_resolved: true\n'
    fi
}

umask 077  # the rendered file may hold an SMTP password
: > "$rendered.tmp"
while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line" >> "$rendered.tmp"
    if [ "$line" = "    $marker" ]; then
        receivers >> "$rendered.tmp"
    fi
done < "$template"
mv "$rendered.tmp" "$rendered"
if [ -z "${ALERT_WEBHOOK_URL:-}${ALERT_EMAIL_TO:-}" ]; then
    echo "otel-claude: no ALERT_WEBHOOK_URL or ALERT_EMAIL_TO: alerts are shown in Alertmanager's UI only"
fi

exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$rendered" "$@"
