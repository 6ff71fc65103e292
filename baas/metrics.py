"""Prometheus metrics of one process, in one registry.

Here at the top of ``baas`` rather than in ``api``, so background workers and the
realtime broker record metrics without importing the HTTP layer. The platform owns one
``Metrics``; ``/metrics`` exposes its registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("baas_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("baas_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry)
        # A WebSocket session is not an HTTP request: counted by how it ended.
        self.websockets = Counter("baas_websocket_sessions_total", "WebSocket sessions",
                                  ["route", "outcome"], registry=self.registry)
        self.websocket_duration = Histogram(
            "baas_websocket_session_seconds", "WebSocket session duration", ["route"],
            registry=self.registry, buckets=(1, 10, 60, 300, 1800, 3600, 14400, 86400))
