"""Prometheus metrics for one replica, on ``GET /metrics``.

Every :class:`Metrics` has its own registry (a service per test never collides with
another). The composition root (:mod:`bot.main`) creates one per service and hands it to
whatever records something:

    metrics = Metrics()
    metrics.request("/slack/events", "POST", 200, 0.004)     # the HTTP middleware does this
    metrics.command("slack", "command", 0.120)               # the router wrapper does this
    metrics.message_sent("telegram")                         # send_outgoing, wrapped
    metrics.message_failed("slack", "error")
    metrics.rate_limited("slack")                            # a 429 received from a platform
    metrics.scheduler_run("broadcast", "ran")                # the scheduler calls this
    metrics.render()                                         # the text exposition format

Labels are bounded on purpose: routes are the route *templates* (``/s/{token}``, never
the token), commands are command names or button prefixes, never what a person typed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"

Backlog = Callable[[], "int | None"]


class _BacklogCollector(Collector):
    """``kpibot_outbox_backlog``: read from the outbox table at scrape time (absent until
    an outbox exists, or while the database cannot be read)."""

    def __init__(self, read: Backlog) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = self.read()
        except Exception:  # a scrape must not fail because the database is down
            log.warning("metrics: the outbox backlog could not be read", exc_info=True)
            return
        if value is not None:
            yield GaugeMetricFamily(
                "kpibot_outbox_backlog", "Outgoing messages waiting to be sent", value=value
            )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        disable_created_metrics()  # no "_created" series: they double the scrape for nothing
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "kpibot_http_requests", "HTTP requests by route template, method and status",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "kpibot_http_request_seconds", "Time to answer an HTTP request (the ack, for Slack)",
            ["route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.command_seconds = Histogram(
            "kpibot_command_seconds", "Time the router took for one request",
            ["platform", "kind"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.messages_sent = Counter(
            "kpibot_messages_sent", "Messages kpibot sent on its own initiative (outbox)",
            ["platform"], registry=r,
        )  # fmt: skip
        self.messages_failed = Counter(
            "kpibot_messages_failed", "Outbox messages not delivered, by reason",
            ["platform", "reason"], registry=r,
        )  # fmt: skip
        self.rate_limits = Counter(
            "kpibot_platform_rate_limited", "429 answers received from a platform API",
            ["platform"], registry=r,
        )  # fmt: skip
        self.scheduler_runs = Counter(
            "kpibot_scheduler_runs",
            "Cycle steps, by step and outcome (ran, already, paused, skipped, failed)",
            ["step", "outcome"],
            registry=r,
        )
        self.database_up = Gauge(
            "kpibot_database_up", "1 when the last database check succeeded", registry=r
        )
        self.draining = Gauge(
            "kpibot_draining", "1 while the replica shuts down (takes no new work)", registry=r
        )
        self.outbox_stalled = Gauge(
            "kpibot_outbox_stalled",
            "1 while the outbox is not draining (nothing moved for a minute)",
            registry=r,
        )
        self.outbox_ambiguous_sends = Counter(
            "kpibot_outbox_ambiguous",
            "Sends that may or may not have arrived and were not repeated",
            ["platform"],
            registry=r,
        )
        self.inbox_recovered = Counter(
            "kpibot_inbox_recovered", "Acknowledged requests answered after their replica stopped",
            ["platform", "outcome"], registry=r,
        )  # fmt: skip
        self._backlog: _BacklogCollector | None = None

    # -- what others call ------------------------------------------------------------

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def command(self, platform: str, kind: str, seconds: float) -> None:
        self.command_seconds.labels(platform, kind).observe(seconds)

    def message_sent(self, platform: str) -> None:
        self.messages_sent.labels(platform).inc()

    def message_failed(self, platform: str, reason: str = "error") -> None:
        """``reason``: ``unreachable`` (the person cannot get it), ``error`` (will retry) …"""
        self.messages_failed.labels(platform, reason).inc()

    def rate_limited(self, platform: str) -> None:
        self.rate_limits.labels(platform).inc()

    def outbox_ambiguous(self, platform: str) -> None:
        self.outbox_ambiguous_sends.labels(platform).inc()

    def scheduler_run(self, step: str, outcome: str = "ran") -> None:
        """One cycle step (``open``, ``remind`` …) ran, found another replica had
        (``already``), was paused, skipped (too late) or failed (``bot.scheduler``)."""
        self.scheduler_runs.labels(step, outcome).inc()

    def watch_backlog(self, read: Backlog) -> None:
        """Report the outbox backlog, read by ``read()`` at each scrape (``None``: no outbox)."""
        if self._backlog is not None:
            self._backlog.read = read
            return
        self._backlog = _BacklogCollector(read)
        self.registry.register(self._backlog)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """One sample's current value (0 when never recorded): for tests and the soak."""
        found = self.registry.get_sample_value(name, labels)
        return found if found is not None else 0.0


def metrics_response(metrics: Metrics) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE)


def route_template(app: ASGIApp, scope: Scope) -> str:
    """The matched route's path template (``/s/{token}``), never the concrete path."""
    for route in getattr(app, "routes", ()):
        match, _child = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


class MetricsMiddleware:
    """Counts every HTTP request by route template and status, and times it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = route_template(scope.get("app") or self.app, scope)
            self.metrics.request(
                route, scope.get("method", "GET"), status, time.perf_counter() - started
            )
