"""The agent's Prometheus `/metrics` endpoint, which may not get its port at first and keeps trying.

The port can be taken by the agent that is just exiting (a restart), or by another user's agent on the same host
(everyone's default is 9464). An agent that cannot bind says so in `status` and retries every RETRY_S, instead of
running its whole life without `/metrics`. The PrometheusMetricReader itself is registered from the start: it
collects only when scraped, so it costs nothing while the port is missing.
"""

from __future__ import annotations

import logging
import time
from socketserver import BaseServer

_log = logging.getLogger(__name__)
RETRY_S = 10.0


class PrometheusServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.error: str | None = None  # why the last bind failed; None once serving
        self._server: BaseServer | None = None
        self._next_try = 0.0

    @property
    def endpoint(self) -> str | None:
        if self._server is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> bool:
        """Tries to bind now; True when serving."""
        from prometheus_client import start_http_server

        if self._server is not None:
            return True
        self._next_try = time.monotonic() + RETRY_S
        try:
            server, _thread = start_http_server(port=self.port, addr=self.host)
        except OSError as exc:
            if self.error is None:
                _log.error("cannot serve Prometheus metrics on %s:%s (%s); retrying", self.host, self.port, exc)
            self.error = f"cannot bind {self.host}:{self.port}: {exc.strerror or exc}"
            return False
        self._server = server
        if self.error is not None:
            _log.info("serving Prometheus metrics on %s:%s after all", self.host, self.port)
        self.error = None
        return True

    def retry_if_due(self) -> None:
        if self._server is None and time.monotonic() >= self._next_try:
            self.start()

    def stop(self) -> None:
        """Frees the port at once, so the next agent can bind it while this process is still exiting."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
