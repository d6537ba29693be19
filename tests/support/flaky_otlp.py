"""An OTLP gRPC receiver that refuses the first few trace exports, then accepts everything.

It plays a Collector that was briefly refusing data: the agent must count the failed exports, keep the
records in its spool, retry, and deliver every span in the end.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from support.otlp_receiver import OtlpReceiver, _Metrics


class _RefusingTraces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, owner: FlakyOtlpReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:
        if self.owner.refuse_one():
            # Not retryable by the OTLP exporter, so the export fails at once (no 10 s retry loop in the test).
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused by the test (a Collector rejecting data)")
        self.owner._record("traces", request)
        return trace_service_pb2.ExportTraceServiceResponse()


class FlakyOtlpReceiver(OtlpReceiver):
    def __init__(self, refuse_first: int = 1, port: int | None = None) -> None:
        super().__init__(port)
        self._to_refuse = refuse_first
        self.refused = 0
        self._refuse_lock = threading.Lock()

    def refuse_one(self) -> bool:
        with self._refuse_lock:
            if self.refused < self._to_refuse:
                self.refused += 1
                return True
            return False

    def start(self) -> FlakyOtlpReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_RefusingTraces(self), server)  # type: ignore[no-untyped-call]
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self), server)  # type: ignore[no-untyped-call]
        server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self


class _DyingTraces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, owner: DyingOtlpReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:
        if not self.owner.accept_trace():
            context.abort(grpc.StatusCode.UNAVAILABLE, "the receiver is going away (killed by the test)")
        self.owner._record("traces", request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _DyingMetrics(_Metrics):
    def Export(self, request: Any, context: Any) -> Any:
        if self.owner.dead.is_set():  # type: ignore[attr-defined]
            context.abort(grpc.StatusCode.UNAVAILABLE, "the receiver is going away (killed by the test)")
        return super().Export(request, context)


class DyingOtlpReceiver(OtlpReceiver):
    """Accepts `accept` trace exports, then dies: the next export is refused and the server stops for good,
    so every later connection is refused, as when a Collector is killed halfway through a backfill."""

    def __init__(self, accept: int, port: int | None = None) -> None:
        super().__init__(port)
        self._left = accept
        self._gate = threading.Lock()
        self.dead = threading.Event()

    def accept_trace(self) -> bool:
        with self._gate:
            if self._left > 0 and not self.dead.is_set():
                self._left -= 1
                return True
            if not self.dead.is_set():
                self.dead.set()
                threading.Thread(target=self.stop, daemon=True).start()  # not from inside the handler
            return False

    def start(self) -> DyingOtlpReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_DyingTraces(self), server)  # type: ignore[no-untyped-call]
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_DyingMetrics(self), server)  # type: ignore[no-untyped-call]
        server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self
