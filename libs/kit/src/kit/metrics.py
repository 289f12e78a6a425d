"""Prometheus metrics shared by every service (labelled by service, so one process may
host several services, as the tests do)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import Response

OUTBOX_PENDING = Gauge(
    "jingzhun_outbox_pending_events", "Outbox rows not yet published to NATS", ["service"]
)
OUTBOX_LAG_SECONDS = Gauge(
    "jingzhun_outbox_lag_seconds",
    "Age of the oldest unpublished outbox row (0 when none)",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "jingzhun_events_published_total", "Events published by the outbox relay", ["service"]
)
PUBLISH_FAILURES = Counter(
    "jingzhun_event_publish_failures_total", "Outbox publish attempts that failed", ["service"]
)
CONSUMER_PENDING = Gauge(
    "jingzhun_consumer_pending_events",
    "Events in the stream not yet delivered or acknowledged by this durable consumer",
    ["service", "consumer"],
)
EVENTS_CONSUMED = Counter(
    "jingzhun_events_consumed_total",
    "Events handled by a consumer, by outcome (applied, duplicate, stale, ignored, retried, dead_lettered)",
    ["service", "consumer", "outcome"],
)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
