"""Claude Code's own (native) OTLP metrics from a fixture, served in the Prometheus text format as the stack's
Collector would expose them, so the Cost dashboard's side-by-side panels run against real data in a real
Prometheus.

What the Collector does to them, reproduced for the two metrics the dashboards read: delta_to_cumulative adds
each data point to the running total of its stream (metric name + attributes), and the prometheus exporter
(translation_strategy UnderscoreEscapingWithSuffixes) names the monotonic sums with their unit and `_total`
(`claude_code.cost.usage` in USD -> claude_code_cost_usage_USD_total, `claude_code.token.usage` in tokens ->
claude_code_token_usage_tokens_total) and turns attribute dots into underscores.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from otel_claude import semconv as sc

PROMETHEUS_NAMES = {
    sc.NATIVE_COST_METRIC: "claude_code_cost_usage_USD_total",
    sc.NATIVE_TOKEN_METRIC: "claude_code_token_usage_tokens_total",
}


def _value(value: dict[str, Any]) -> str:
    (raw,) = value.values()
    return ("true" if raw else "false") if isinstance(raw, bool) else str(raw)


def cumulative_totals(metrics_jsonl: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(Prometheus name, sorted labels) -> cumulative value after every delta in the file."""
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    for line in metrics_jsonl.read_text(encoding="utf-8").splitlines():
        for resource in json.loads(line)["resourceMetrics"]:
            for scope in resource["scopeMetrics"]:
                for metric in scope["metrics"]:
                    name = PROMETHEUS_NAMES.get(metric["name"])
                    if name is None:
                        continue
                    assert metric["sum"]["aggregationTemporality"] == 1 and metric["sum"]["isMonotonic"]  # delta
                    for point in metric["sum"]["dataPoints"]:
                        labels = tuple(
                            sorted((a["key"].replace(".", "_"), _value(a["value"])) for a in point["attributes"])
                        )
                        totals[(name, labels)] += float(point.get("asDouble", point.get("asInt", 0)))
    return dict(totals)


def exposition(metrics_jsonl: Path) -> str:
    lines = []
    for (name, labels), value in sorted(cumulative_totals(metrics_jsonl).items()):
        rendered = ",".join(f'{key}="{val}"' for key, val in labels)
        lines.append(f"{name}{{{rendered}}} {value!r}")
    return "\n".join(lines) + "\n"


class NativeMetricsServer:
    """Serves the fixture's metrics at http://127.0.0.1:<port>/metrics until stopped."""

    def __init__(self, metrics_jsonl: Path) -> None:
        body = exposition(metrics_jsonl).encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.target = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> NativeMetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
