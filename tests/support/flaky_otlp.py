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
