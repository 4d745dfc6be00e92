"""Prometheus metrics (`--metrics HOST:PORT`, text format at /metrics).

Each gateway has its own registry, so two gateways in one process (tests) or
a CLI never share counters. The held-queue gauge is read from the store at
scrape time, so it is right even when reviewers release messages from another
process.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from gateway.latency import ReplyLatency

LATENCY_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)


class Metrics:
    def __init__(self, held_count: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "gateway_messages",
            "Messages by leg, decision and SMTP outcome.",
            ["leg", "action", "outcome"],
            registry=self.registry,
        )
        self.findings = Counter(
            "gateway_findings",
            "Findings by reason code and the action they carried.",
            ["reason", "action"],
            registry=self.registry,
        )
        self.rewrites = Counter(
            "gateway_sender_rewrites",
            "No-reply addresses rewritten, by field.",
            ["field"],
            registry=self.registry,
        )
        self.relay_errors = Counter(
            "gateway_relay_errors",
            "Messages the relay did not accept, by leg and kind (tempfail or refused).",
            ["leg", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_reply_latency_seconds",
            "Reply latency (wall clock) of measured replies.",
            ["first_reply"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sla_breaches = Counter(
            "gateway_sla_breaches", "Replies later than their policy's SLA.", registry=self.registry
        )
        self.held = Gauge(
            "gateway_held_messages", "Messages waiting for review.", registry=self.registry
        )
        self.held.set_function(held_count)
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def message(self, leg: str, action: str, outcome: str, findings: list[dict[str, Any]]) -> None:
        self.messages.labels(leg, action, outcome).inc()
        for finding in findings:
            self.findings.labels(finding["code"], finding["action"]).inc()
        if outcome != "accepted" and action == "relay":
            self.relay_errors.labels(leg, outcome).inc()

    def rewrite(self, field: str) -> None:
        self.rewrites.labels(field).inc()

    def reply(self, latency: ReplyLatency) -> None:
        if latency.latency_seconds is not None:
            self.latency.labels(str(latency.first_reply).lower()).observe(latency.latency_seconds)
        if latency.sla_breached:
            self.sla_breaches.inc()

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Start the HTTP endpoint in a thread; returns the bound address (port 0 picks one)."""
        self._server, self._thread = start_http_server(port, host, registry=self.registry)
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
