"""A real Prometheus server for tests: started on a free loopback port with a temporary data dir, queried over
its HTTP API, always stopped.

Prometheus shows a target's first samples only after its first scrape (a second or more after start, at a
1 s interval), so callers wait for a series with `wait_for_series` instead of sleeping.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROMETHEUS_BIN = "prometheus"
PROMTOOL_BIN = "promtool"


class PrometheusError(RuntimeError):
    """A query Prometheus refused (bad PromQL, execution error) or an API call that failed."""


def find_binary(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    values: list[tuple[float, float]]


class Prometheus:
    """One Prometheus process scraping `targets` (host:port) every `scrape_interval`."""

    def __init__(
        self, workdir: Path, targets: Sequence[str], scrape_interval: str = "1s", binary: str | None = None
    ) -> None:
        found = binary or find_binary(PROMETHEUS_BIN)
        if found is None:
            raise FileNotFoundError("prometheus binary not found (scripts/install-test-deps/prometheus.sh)")
        self.binary = found
        self.workdir = workdir
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        # JSON is valid YAML, so no YAML library is needed to write the config.
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "scrape_configs": [
                {"job_name": "otel-claude", "static_configs": [{"targets": self.targets}]},
            ],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        return path

    def start(self, timeout: float = 30.0) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        log = (self.workdir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"prometheus not ready after {timeout:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "prometheus.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _api(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:  # 400/422: the query itself is wrong
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')} (query: {params.get('query')})")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query; a scalar result comes back as one sample without labels."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._api("query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        data = self._api(
            "query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        )
        return [Series(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]

    def wait_for_series(self, expr: str, timeout: float = 30.0) -> list[Sample]:
        """Polls until `expr` returns something (Prometheus' first scrape comes a while after start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.25)
        raise TimeoutError(f"no series for {expr!r} after {timeout:.0f} s\n{self.log_tail()}")

    def wait_for_value(self, expr: str, expected: float, timeout: float = 30.0) -> None:
        """Polls until the single value of `expr` equals `expected` (e.g. a counter caught up with its source)."""
        deadline = time.monotonic() + timeout
        last: list[Sample] = []
        while time.monotonic() < deadline:
            last = self.query(expr)
            if len(last) == 1 and math.isclose(last[0].value, expected, rel_tol=1e-9, abs_tol=1e-9):
                return
            time.sleep(0.25)
        raise TimeoutError(f"{expr!r} is {last}, not {expected}, after {timeout:.0f} s\n{self.log_tail()}")


def finite(samples: Sequence[Sample]) -> list[Sample]:
    """The samples a panel would show as numbers (NaN and infinities render as nothing useful)."""
    return [s for s in samples if math.isfinite(s.value)]


@contextmanager
def running_prometheus(workdir: Path, targets: Sequence[str], scrape_interval: str = "1s") -> Iterator[Prometheus]:
    server = Prometheus(workdir, targets, scrape_interval).start()
    try:
        yield server
    finally:
        server.stop()
