"""The agent's last steps: metrics flushed within a bound, the Prometheus port freed, the final status written."""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable

from otel_claude.export.providers import Providers
from otel_claude.handoff import spool

_log = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S = 5.0


def shut_down(paths: spool.SpoolPaths, providers: Providers, write_final_status: Callable[[], None]) -> None:
    """Flushes metrics and writes the last status; spans not exported stay as records in the spool.

    The OTLP metric exporter ignores the flush timeout and retries for its own (10 s by default) on each of the
    two final exports, so with a Collector down or hanging `otel-claude stop` took 25 to 40 s: the flush runs
    in a thread and gets SHUTDOWN_FLUSH_S. Counters lose nothing by it: their ledger is in the snapshot."""
    spool.clear_heartbeat(paths)  # from now on the hooks keep the spool's bound themselves
    flusher = threading.Thread(target=_flush_metrics, args=(providers,), name="otel-claude-final-flush", daemon=True)
    flusher.start()
    flusher.join(SHUTDOWN_FLUSH_S)
    if flusher.is_alive():
        _log.warning("the final metric export did not finish within %.0f s; stopping without it", SHUTDOWN_FLUSH_S)
    # The SDK's own exit hook would shut the provider down again and wait for its exporter thread, holding the
    # Prometheus port for another 10 to 25 s after the lock was released: this shutdown is the only one.
    atexit.unregister(providers.meter_provider.shutdown)
    if providers.prometheus is not None:
        providers.prometheus.stop()  # the port is free before the lock is: a successor can bind it
    write_final_status()
    providers.tracer_provider.shutdown()


def _flush_metrics(providers: Providers) -> None:
    try:
        providers.meter_provider.force_flush(timeout_millis=SHUTDOWN_FLUSH_S * 1000)
        providers.meter_provider.shutdown(timeout_millis=SHUTDOWN_FLUSH_S * 1000)
    except Exception:
        _log.exception("the final metric flush failed")
