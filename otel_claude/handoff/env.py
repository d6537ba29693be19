"""Every environment variable otel-claude reads, declared once, with its meaning and default.

Standard `OTEL_*` names are preferred over new ones. Claude Code strips every `OTEL_*` variable from the
environment of its hooks (since 2.1.128), so an agent started by a hook reads the same names from the config
file that `otel-claude install` writes (KEY=VALUE lines); the process environment wins over the file.

This module is on the hook's path: standard library `os` (and `paths`) only, nothing that costs import time.
Values are parsed leniently: a bad value falls back to the default (the agent logs a warning).
"""

from __future__ import annotations

import os

from otel_claude.handoff import paths

TYPE_CHECKING = False  # typing's own constant costs an import on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping

# --- ours -----------------------------------------------------------------------------------------
OTEL_CLAUDE_STATE_DIR = "OTEL_CLAUDE_STATE_DIR"
"""Directory for the spool, the agent's lock, state snapshot, status and logs. Default
`$XDG_STATE_HOME/otel-claude` (`~/.local/state/otel-claude`). Created 0700. Claude Code strips `OTEL_*` from its
hooks: `otel-claude install --state-dir` moves it for the hook too."""

OTEL_CLAUDE_CONFIG_FILE = "OTEL_CLAUDE_CONFIG_FILE"
"""The config file (KEY=VALUE lines, `#` comments) that `install` writes. Default
`$XDG_CONFIG_HOME/otel-claude/otel-claude.env` (`~/.config/otel-claude/otel-claude.env`)."""

OTEL_CLAUDE_SPOOL_MAX_BYTES = "OTEL_CLAUDE_SPOOL_MAX_BYTES"
"""Upper bound of the spool's size on disk. When a new record would pass it, the hook drops that record and
counts the loss (newest dropped, so what was accepted stays in order). Default 268435456 (256 MiB)."""

OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS = "OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS"
"""An agent started by a hook exits after this many seconds with no event, once everything is exported and no
session is open; the next hook starts it again. 0 never exits. Default 3600."""

OTEL_CLAUDE_PROJECT_LABEL = "OTEL_CLAUDE_PROJECT_LABEL"
"""How the `claude_code.project` metric label is made from a session's directory: `name` (the repository or
directory name, default), `hash` (12 hex characters of the path's SHA-256), or `none` (the label is left out)."""

OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS = "OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS"
"""Claude Code writes the transcript asynchronously: after Stop and SubagentStop the agent reads the transcript
again after this delay so the turn's last lines are not lost. Default 1500."""

OTEL_CLAUDE_PRICES_FILE = "OTEL_CLAUDE_PRICES_FILE"
"""A JSON price file that overrides or extends the bundled price table."""

OTEL_CLAUDE_SESSION_IDLE_SECONDS = "OTEL_CLAUDE_SESSION_IDLE_SECONDS"
"""A session with no event for this long is closed (its open spans marked unfinished) and its state released.
Default 21600 (6 hours)."""

OTEL_CLAUDE_TEAM = "OTEL_CLAUDE_TEAM"
"""Opt-in team label, set at install by the organisation (`install --team`): the `claude_code.team` resource
attribute and metric label. Unset (default): no team label. One value per agent, at most 64 characters."""

OTEL_CLAUDE_SYSTEM_CONFIG_FILE = "OTEL_CLAUDE_SYSTEM_CONFIG_FILE"
"""The machine-wide config file that `install --managed` writes for every user of the machine, read beneath the
user's own config file (the user's file and the process environment win). Default `/etc/otel-claude/otel-claude.env`."""
OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT = "OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT"
"""Most distinct label sets one metric keeps (per exporter); measurements with further label sets are added to
one extra series labelled `otel.metric.overflow="true"` (the SDK's cardinality limit), and the counter totals
saved in the state snapshot are capped the same way. 5,000 tool names then cost 1 series each, not 5,000.
Histograms keep a quarter of it (each of their series is a line per bucket). Default 100: with every flooded
metric at its limit `/metrics` stays under 1 MiB and each OTLP request far below 4 MiB."""

OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE = "OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE"
"""Most data points in one OTLP metric export request (the SDK exporter's `max_export_batch_size`); a bigger
export is split. gRPC refuses requests over 4 MiB, and so does the Collector's receiver. Default 1000."""

OTEL_CLAUDE_AGENT_NICE = "OTEL_CLAUDE_AGENT_NICE"
"""The agent's CPU niceness, 0 to 19. It works beside Claude Code on the same cores, and telemetry should wait
for the session, never the session for telemetry: at 10 the agent yields the CPU whenever Claude Code and its
hooks want it, and catches up when they wait (on the model, on the user). 0 leaves it as started. Default 10."""

OTEL_CLAUDE_DEBUG = "OTEL_CLAUDE_DEBUG"
"""`1`: the hook re-raises its own errors instead of swallowing them (set by the test suite), and the agent
logs at DEBUG."""

# --- standard OpenTelemetry names (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""`service.name` of the resource. Default `claude-code`."""

OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Extra resource attributes, `k=v,k2=v2`; the resource also has `service.version` (otel-claude's),
`user.name` and `host.name`."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""OTLP gRPC endpoint for traces and metrics. Default `http://localhost:4317`. The per-signal variants
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, ...), `_HEADERS`, `_TIMEOUT`, `_INSECURE`, `_CERTIFICATE`,
`_COMPRESSION` are honoured by the SDK's exporter as usual."""

OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
"""Headers sent with every OTLP export, `k=v,k2=v2` (e.g. an auth token for a central Collector)."""

OTEL_EXPORTER_OTLP_CERTIFICATE = "OTEL_EXPORTER_OTLP_CERTIFICATE"
"""PEM file of the CA (or self-signed certificate) that verifies the OTLP endpoint's TLS certificate, e.g. a
central gateway's private CA (`install --certificate`). Read by the SDK's exporter; without it the system roots."""

OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
"""PEM client certificate for mutual TLS with the OTLP endpoint (`install --client-certificate`)."""

OTEL_EXPORTER_OTLP_CLIENT_KEY = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
"""PEM private key of the client certificate (`install --client-key`)."""

OTEL_EXPORTER_OTLP_INSECURE = "OTEL_EXPORTER_OTLP_INSECURE"
"""`true`: plaintext gRPC even for an endpoint without an `http://` scheme (`install --insecure`). By the spec the
scheme decides when this is unset: `https://` is TLS, `http://` plaintext."""

OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
"""`otlp` (default) or `none`."""

OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
"""Comma-separated: `otlp` and/or `prometheus`. Default `otlp,prometheus`; `none` disables metrics export."""

OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
"""Milliseconds between OTLP metric exports. Default 10000 here (the SDK's 60000 is slow for a desktop tool)."""

OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
"""`cumulative` (default), `delta` or `lowmemory`: the temporality of OTLP metric exports, as the OTel spec
defines it. Prometheus wants cumulative."""

OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
"""`explicit_bucket_histogram` (default: the buckets otel-claude chose for each histogram) or
`base2_exponential_bucket_histogram`, for OTLP metric exports."""

OTEL_EXPORTER_PROMETHEUS_HOST = "OTEL_EXPORTER_PROMETHEUS_HOST"
"""Address of the agent's Prometheus `/metrics` endpoint. Default `127.0.0.1` (loopback only)."""

OTEL_EXPORTER_PROMETHEUS_PORT = "OTEL_EXPORTER_PROMETHEUS_PORT"
"""Port of the agent's Prometheus endpoint. Default 9464; `0` turns the endpoint off."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""`true`: prompts, tool inputs, outputs and error texts are put on spans, after redaction. Default `false`:
only sizes and safe metadata are exported."""

ALL: tuple[str, ...] = (
    OTEL_CLAUDE_STATE_DIR,
    OTEL_CLAUDE_CONFIG_FILE,
    OTEL_CLAUDE_SPOOL_MAX_BYTES,
    OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS,
    OTEL_CLAUDE_PROJECT_LABEL,
    OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS,
    OTEL_CLAUDE_PRICES_FILE,
    OTEL_CLAUDE_SESSION_IDLE_SECONDS,
    OTEL_CLAUDE_TEAM,
    OTEL_CLAUDE_SYSTEM_CONFIG_FILE,
    OTEL_CLAUDE_METRIC_CARDINALITY_LIMIT,
    OTEL_CLAUDE_METRIC_EXPORT_BATCH_SIZE,
    OTEL_CLAUDE_AGENT_NICE,
    OTEL_CLAUDE_DEBUG,
    OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_INSECURE,
    OTEL_TRACES_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
    OTEL_EXPORTER_PROMETHEUS_HOST,
    OTEL_EXPORTER_PROMETHEUS_PORT,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
)

DEFAULT_SERVICE_NAME = "claude-code"
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"
DEFAULT_PROMETHEUS_HOST = "127.0.0.1"
DEFAULT_PROMETHEUS_PORT = 9464
DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_IDLE_EXIT_SECONDS = 3600.0
DEFAULT_SESSION_IDLE_SECONDS = 6 * 3600.0
DEFAULT_SETTLE_MS = 1500
DEFAULT_METRIC_EXPORT_INTERVAL_MS = 10000
DEFAULT_SYSTEM_CONFIG_FILE = "/etc/otel-claude/otel-claude.env"
DEFAULT_METRIC_CARDINALITY_LIMIT = 100
DEFAULT_METRIC_EXPORT_BATCH_SIZE = 1000
DEFAULT_AGENT_NICE = 10
MAX_NICE = 19


def _home() -> str:
    return os.path.expanduser("~")


def state_dir(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    explicit = env.get(OTEL_CLAUDE_STATE_DIR)
    if explicit:
        return explicit
    base = env.get("XDG_STATE_HOME") or os.path.join(_home(), ".local", "state")
    return os.path.join(base, "otel-claude")


def config_file(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    explicit = env.get(OTEL_CLAUDE_CONFIG_FILE)
    if explicit:
        return explicit
    base = env.get("XDG_CONFIG_HOME") or os.path.join(_home(), ".config")
    return os.path.join(base, "otel-claude", "otel-claude.env")


def system_config_file(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(OTEL_CLAUDE_SYSTEM_CONFIG_FILE) or DEFAULT_SYSTEM_CONFIG_FILE


def parse_config_text(text: str) -> dict[str, str]:
    """KEY=VALUE lines; `#` starts a comment line; surrounding quotes on the value are removed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key:
            values[key] = value
    return values


MAX_CONFIG_BYTES = 1 << 20


def config_line(key: str, value: str) -> str:
    """One `KEY=VALUE` line of the config file. Raises ValueError for a key or value that would not stay one
    line with that meaning: a newline in `--endpoint` would write a second setting of the caller's choosing."""
    for text in (key, value):
        bad = [char for char in text if ord(char) < 0x20 or ord(char) == 0x7F or char in "\u2028\u2029\x85"]
        if bad:
            raise ValueError(f"{key}: control character {bad[0]!r} not allowed in a config value")
    if not key or "=" in key or key != key.strip() or key.startswith("#"):
        raise ValueError(f"{key!r} is not a config key")
    return f"{key}={value}\n"


def read_config_file(path: str, *, machine_wide: bool = False) -> dict[str, str]:
    """The config file's values; nothing when it is missing, unreadable, or not a regular file of ours (a FIFO or
    a link there is never opened in a way that could block or read someone else's file).

    `machine_wide`: the file `install --managed` wrote for every user: root's (or ours), writable by its owner only.
    """
    try:
        fd, info = paths.open_regular(path, owned=not machine_wide)
    except (OSError, ValueError):
        return {}
    try:
        if machine_wide and (info.st_uid not in (0, os.getuid()) or info.st_mode & 0o022):
            return {}  # another user's file, or one others may write: its settings are not the organisation's
        return parse_config_text(paths.read_fd(fd, MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return {}
    finally:
        os.close(fd)


def effective_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The machine-wide config file, overlaid with the user's config file, overlaid with the process environment
    (the process wins, then the user's file: an organisation's defaults never override a user's own choice)."""
    env = dict(os.environ if environ is None else environ)
    merged = read_config_file(system_config_file(env), machine_wide=True)
    merged.update(read_config_file(config_file(env)))
    merged.update(env)
    return merged


class Problem:
    """A value that could not be parsed; the agent logs it as a warning. (No dataclass: 17 ms of imports.)"""

    __slots__ = ("default", "name", "value")

    def __init__(self, name: str, value: str, default: str) -> None:
        self.name = name
        self.value = value
        self.default = default


def get_int(env: Mapping[str, str], name: str, default: int, problems: list[Problem] | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        if problems is not None:
            problems.append(Problem(name, raw, str(default)))
        return default


def get_float(env: Mapping[str, str], name: str, default: float, problems: list[Problem] | None = None) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        if problems is not None:
            problems.append(Problem(name, raw, str(default)))
        return default


def get_bool(env: Mapping[str, str], name: str, default: bool, problems: list[Problem] | None = None) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on", "span_only", "span_and_event", "event_only"):
        return True
    if raw in ("0", "false", "no", "off", "no_content"):
        return False
    if problems is not None:
        problems.append(Problem(name, raw, str(default).lower()))
    return default
