"""An in-process OTLP gRPC receiver for tests: records every export request, raw bytes included.

Optionally it stands for a team gateway: TLS with a given certificate and key, and a bearer token every request
must carry in its `authorization` metadata (as the Collector's bearertokenauth extension checks); a request
without it is refused with UNAUTHENTICATED and counted, never recorded."""

from __future__ import annotations

import socket
import threading
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, owner: OtlpReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:
        self.owner._authorize(context)
        self.owner._record("traces", request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, owner: OtlpReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:
        self.owner._authorize(context)
        self.owner._record("metrics", request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class OtlpReceiver:
    def __init__(
        self,
        port: int | None = None,
        *,
        tls: tuple[bytes, bytes] | None = None,
        token: str | None = None,
        client_ca: bytes | None = None,
    ) -> None:
        """tls: (certificate chain PEM, private key PEM) to serve TLS with; token: the bearer token required;
        client_ca: require a client certificate signed by this CA (mutual TLS)."""
        self.port = port or free_port()
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._tls = tls
        self._token = token
        self._client_ca = client_ca
        self._lock = threading.Lock()
        self.trace_requests: list[Any] = []
        self.metric_requests: list[Any] = []
        self.refused = 0
        self._raw: list[bytes] = []
        self._server: grpc.Server | None = None

    def _authorize(self, context: Any) -> None:
        if self._token is None:
            return
        metadata = {key: value for key, value in context.invocation_metadata()}
        if metadata.get("authorization") != f"Bearer {self._token}":
            with self._lock:
                self.refused += 1
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    def _record(self, signal: str, request: Any) -> None:
        with self._lock:
            (self.trace_requests if signal == "traces" else self.metric_requests).append(request)
            self._raw.append(request.SerializeToString())

    def start(self) -> OtlpReceiver:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self), server)
        if self._tls:
            credentials = grpc.ssl_server_credentials(
                [(self._tls[1], self._tls[0])],
                root_certificates=self._client_ca,
                require_client_auth=self._client_ca is not None,
            )
            server.add_secure_port(f"127.0.0.1:{self.port}", credentials)
        else:
            server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def spans(self) -> list[Span]:
        with self._lock:
            requests = list(self.trace_requests)
        return [
            span
            for request in requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def resource_attributes(self) -> dict[str, Any]:
        with self._lock:
            requests = list(self.trace_requests)
        for request in requests:
            for resource_spans in request.resource_spans:
                return {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        return {}

    def metric_names(self) -> set[str]:
        with self._lock:
            requests = list(self.metric_requests)
        return {
            metric.name
            for request in requests
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }

    def spans_by_resource(self) -> list[tuple[dict[str, Any], Span]]:
        """Every span with its resource's attributes (several agents send to one receiver)."""
        with self._lock:
            requests = list(self.trace_requests)
        return [
            ({kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}, span)
            for request in requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def data_points_by_resource(self) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
        """(resource attributes, metric name, data point attributes) for every data point received."""
        with self._lock:
            requests = list(self.metric_requests)
        found = []
        for request in requests:
            for resource_metrics in request.resource_metrics:
                resource = {kv.key: any_value(kv.value) for kv in resource_metrics.resource.attributes}
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points if kind else ():
                            attributes = {kv.key: any_value(kv.value) for kv in point.attributes}
                            found.append((resource, metric.name, attributes))
        return found

    def raw_bytes(self) -> bytes:
        with self._lock:
            return b"".join(self._raw)


def span_attributes(span: Span) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in span.attributes}
