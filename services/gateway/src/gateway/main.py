"""Gateway: ``uvicorn gateway.main:create_app --factory --port 8000``."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.config import GatewaySettings
from gateway.consumers import CONSUMERS
from gateway.public_feed import OUTBOX
from gateway.stats.endpoints import router as stats_router
from gateway.status.cache import StatusCache, status_cache
from gateway.status.endpoints import router as status_router
from gateway.status.fast_path import CachedStatusRoute, untraced_when_cached
from gateway.status.fresh import source_clients
from gateway.stream.endpoints import router as stream_router
from gateway.stream.limits import StreamSlots
from kit.app import ServiceDefinition, create_service_app

DESCRIPTION = """
What village cadres' phones and county dashboards read: one status document per household
(两不愁三保障, exit readiness, risk alerts, helper), region statistics at every level, built
from every service's events. It owns no domain data and can be rebuilt by replaying the
streams.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    cache = StatusCache(settings.status_cache_size)
    app = create_service_app(
        ServiceDefinition(
            name="gateway",
            title="Jingzhun Gateway",
            description=DESCRIPTION,
            settings=settings,
            routers=[status_router, stats_router, stream_router],
            outbox=OUTBOX,
            consumers=CONSUMERS,
            resources=[
                source_clients(
                    settings.sources,
                    settings.source_timeout_seconds,
                    settings.fresh_deadline_seconds,
                ),
                status_cache(cache),
            ],
            untraced=untraced_when_cached(cache),
            openapi_tags=[
                {"name": "status", "description": "Household status (两不愁三保障)"},
                {"name": "statistics", "description": "Region statistics (统计)"},
                {
                    "name": "events",
                    "description": "Live event stream (实时事件, Server-Sent Events)",
                },
                {"name": "operations", "description": "Health and readiness"},
            ],
        )
    )
    app.add_middleware(CachedStatusRoute, cache=cache)
    app.state.stream_slots = StreamSlots(settings.stream_max_connections_per_principal)
    return app
