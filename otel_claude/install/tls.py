"""`install --certificate/--client-certificate/--client-key/--insecure/--team`: the standard OTLP exporter settings
for a central gateway, as the config file holds them (the SDK's exporter reads the same names)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from otel_claude.config import MAX_TEAM_CHARS
from otel_claude.handoff import env


@dataclass(frozen=True)
class GatewayOptions:
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure: bool = False
    team: str | None = None

    def _files(self) -> tuple[tuple[str, str, str | None], ...]:
        """(option, config name, path) of each TLS file option."""
        return (
            ("--certificate", env.OTEL_EXPORTER_OTLP_CERTIFICATE, self.certificate),
            ("--client-certificate", env.OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, self.client_certificate),
            ("--client-key", env.OTEL_EXPORTER_OTLP_CLIENT_KEY, self.client_key),
        )

    def config_values(self) -> dict[str, str]:
        """The config-file lines for the options given (paths made absolute: the agent runs in /)."""
        values = {name: os.path.abspath(path) for _, name, path in self._files() if path}
        if self.insecure:
            values[env.OTEL_EXPORTER_OTLP_INSECURE] = "true"
        if self.team:
            values[env.OTEL_CLAUDE_TEAM] = self.team
        return values

    def problem(self) -> str | None:
        """Why the options cannot work, or None: a missing file, half a client pair, TLS and insecure both."""
        for option, _, path in self._files():
            if path and not os.path.isfile(path):
                return f"{option} {path}: no such file"
        if bool(self.client_certificate) != bool(self.client_key):
            return "--client-certificate and --client-key go together"
        if self.insecure and self.certificate:
            return "--insecure and --certificate contradict each other"
        if self.team and len(self.team) > MAX_TEAM_CHARS:
            return f"--team: at most {MAX_TEAM_CHARS} characters"
        return None
