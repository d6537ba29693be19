"""`install --certificate/--client-certificate/--client-key/--insecure/--team`: the standard OTLP exporter settings
for a central gateway, as the config file holds them (the SDK's exporter reads the same names)."""

from __future__ import annotations

import argparse
import os

from otel_claude.handoff import env

_FILES = (
    ("certificate", env.OTEL_EXPORTER_OTLP_CERTIFICATE),
    ("client_certificate", env.OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE),
    ("client_key", env.OTEL_EXPORTER_OTLP_CLIENT_KEY),
)


def config_values(options: argparse.Namespace) -> dict[str, str]:
    """The config-file lines for the TLS and identity options given (paths made absolute: the agent runs in /)."""
    values = {
        name: os.path.abspath(getattr(options, attribute))
        for attribute, name in _FILES
        if getattr(options, attribute, None)
    }
    if getattr(options, "insecure", False):
        values[env.OTEL_EXPORTER_OTLP_INSECURE] = "true"
    if getattr(options, "team", None):
        values[env.OTEL_CLAUDE_TEAM] = options.team
    return values


def check_files(options: argparse.Namespace) -> str | None:
    """Why the given TLS options cannot work, or None: a missing file, half a client pair, TLS and insecure both."""
    for attribute, _ in _FILES:
        path = getattr(options, attribute, None)
        if path and not os.path.isfile(path):
            return f"--{attribute.replace('_', '-')} {path}: no such file"
    if bool(getattr(options, "client_certificate", None)) != bool(getattr(options, "client_key", None)):
        return "--client-certificate and --client-key go together"
    if getattr(options, "insecure", False) and getattr(options, "certificate", None):
        return "--insecure and --certificate contradict each other"
    if getattr(options, "team", None) and len(options.team) > 64:
        return "--team: at most 64 characters"
    return None
