"""The service app factory: one way every service is wired.

``create_service_app`` gives a FastAPI app with problem+json errors, tracing, ``/healthz``,
``/readyz``, ``/metrics`` and a lifespan that starts the database engine, the NATS
connection, stream provisioning, the outbox relay and the event consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from nats.js.api import StreamConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.catalogue import Catalogue
from kit import telemetry
from kit.auth import TokenVerifier
from kit.bus import Bus, dead_letter_stream, ensure_stream, service_stream
from kit.clock import Clock
from kit.consumer import (
    EventConsumer,
    Handler,
    OnReceived,
    Prepare,
    Subscription,
    TransactionEnd,
)
from kit.db import atomic, create_engine, create_read_sessionmaker, create_sessionmaker
from kit.errors import BodyLimit, install_error_handlers
from kit.metrics import metrics_endpoint
from kit.outbox import Outbox, OutboxRelay
from kit.problems import Problem
from kit.settings import ServiceSettings
from kit.text_input import RefuseControlCharacters

log = logging.getLogger(__name__)
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)


def subscription(service: str, source_service: str) -> Subscription:
    """``service``'s durable consumer of ``source_service``'s stream (``health-registry``)."""
    return Subscription(
        durable=f"{service}-{source_service}",
        stream=service_stream(source_service).name,
        filter_subject=f"{source_service}.>",
    )


@dataclass
class ConsumerDefinition:
    """A subscription to one producing service's events, with handlers by event name."""

    source_service: str
    handlers: dict[str, Handler]
    #: The events the handlers are named from (``contracts.events.CATALOGUE``): kit is
    #: mechanism and knows no domain's events.
    catalogue: Catalogue
    #: Event name → payload field naming the part of the aggregate it carries alone
    #: (see :class:`kit.consumer.EventConsumer`).
    ordered_by: dict[str, str] = field(default_factory=dict)
    #: Run before the handlers of each consumer transaction (see ``kit.consumer.Prepare``).
    prepare: Prepare | None = None
    #: Run at the end of each consumer transaction (see ``kit.consumer.TransactionEnd``).
    at_transaction_end: TransactionEnd | None = None
    #: Run for every event read for the first time (see ``kit.consumer.OnReceived``).
    on_received: OnReceived | None = None

    def subscription(self, service: str) -> Subscription:
        return subscription(service, self.source_service)

    def consumer(
        self,
        service: str,
        *,
        bus: Bus,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: ServiceSettings | None = None,
    ) -> EventConsumer:
        """The consumer of this subscription for ``service`` (tuned by its ``settings``)."""
        tuning = (
            {}
            if settings is None
            else {
                "max_deliver": settings.consumer_max_deliver,
                "ack_wait_seconds": settings.consumer_ack_wait_seconds,
                "inbox_retention_hours": settings.consumer_inbox_retention_hours,
                "batch_size": settings.consumer_batch_size,
            }
        )
        return EventConsumer(
            service=service,
            subscription=self.subscription(service),
            handlers=self.handlers,
            ordered_by=self.ordered_by,
            prepare=self.prepare,
            at_transaction_end=self.at_transaction_end,
            on_received=self.on_received,
            catalogue=self.catalogue,
            bus=bus,
            sessionmaker=sessionmaker,
            **tuning,
        )


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    settings: ServiceSettings
    routers: list[APIRouter]
    outbox: Outbox | None = None
    consumers: list[ConsumerDefinition] = field(default_factory=list)
    version: str = "0.1.0"
    openapi_tags: list[dict[str, Any]] | None = None
    #: Exact paths allowed a larger body than ``max_body_bytes`` (file uploads).
    body_limits: dict[str, int] = field(default_factory=dict)
    #: Further things that live as long as the app (an HTTP client pool …): each is
    #: entered after the runtime starts and left before it stops.
    resources: list[Callable[[FastAPI], contextlib.AbstractAsyncContextManager[Any]]] = field(
        default_factory=list
    )
    #: What a violated database constraint means, by constraint name: the same problem the
    #: service answers when its own check finds the conflict (a concurrent request passed
    #: the check too). Unknown unique violations are a generic 409 CONFLICT.
    constraint_problems: dict[str, Problem] = field(default_factory=dict)
    #: Requests answered without a trace span (see ``kit.telemetry.http_telemetry``).
    untraced: Callable[[Any], bool] | None = None


class Runtime:
    """The live parts of a running service, reachable as ``request.app.state.runtime``."""

    def __init__(self, definition: ServiceDefinition) -> None:
        settings = definition.settings
        self.definition = definition
        self.settings = settings
        self.engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.read_sessionmaker = create_read_sessionmaker(self.engine)
        self.bus = Bus(settings.nats_url, name=definition.name)
        self.verifier = TokenVerifier(
            public_key_file=settings.auth_public_key_file,
            jwks_url=settings.auth_jwks_url,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            max_lifetime=dt.timedelta(hours=settings.auth_max_token_lifetime_hours),
        )
        self.relay: OutboxRelay | None = None
        if definition.outbox is not None:
            self.relay = OutboxRelay(
                service=definition.name,
                engine=self.engine,
                database_url=settings.database_url,
                bus=self.bus,
                sweep_seconds=settings.outbox_sweep_seconds,
                batch_size=settings.outbox_batch_size,
                retention_hours=settings.outbox_retention_hours,
            )
        self.consumers = [
            c.consumer(
                definition.name, bus=self.bus, sessionmaker=self.sessionmaker, settings=settings
            )
            for c in definition.consumers
        ]
        self._provisioning: asyncio.Task[None] | None = None
        #: Set once streams exist and the relay and consumers run.
        self.started = asyncio.Event()

    def streams(self) -> list[StreamConfig]:
        """Streams this service needs: its own, its sources', and the dead-letter stream."""
        needed = []
        if self.definition.outbox is not None:
            needed.append(self.definition.outbox.stream())
        needed += [service_stream(c.source_service) for c in self.definition.consumers]
        if self.definition.consumers:
            needed.append(dead_letter_stream())
        for config in needed:
            config.num_replicas = self.settings.nats_stream_replicas
        return needed

    async def start(self) -> None:
        self.bus.start()
        self._provisioning = asyncio.create_task(
            self._provision_then_run(), name=f"{self.definition.name}-start"
        )

    async def _provision_then_run(self) -> None:
        await self.bus.wait_connected()
        while True:
            try:
                for config in self.streams():
                    await ensure_stream(self.bus.js, config)
                break
            except Exception as exc:  # noqa: BLE001 - NATS may be starting; try again
                log.warning("stream provisioning failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
        if self.relay:
            self.relay.start()
        for consumer in self.consumers:
            consumer.start()
        self.started.set()

    async def stop(self) -> None:
        if self._provisioning:
            self._provisioning.cancel()
            await asyncio.gather(self._provisioning, return_exceptions=True)
        for consumer in self.consumers:
            await consumer.stop()
        if self.relay:
            await self.relay.stop()
        await self.bus.close()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["nats"] = "ok" if self.bus.is_connected else "unavailable"
        return checks


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the endpoint has returned (and its response
    is built), rolled back if it raised; what the service methods it calls write joins it."""
    async with request.app.state.runtime.sessionmaker() as session, atomic(session):
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.read_sessionmaker() as session:
        yield session


#: For endpoints that write. Scope "function": the commit comes before the response is sent,
#: so a failing commit is the request's error, never a 2xx for what was not kept.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
#: For endpoints that only read: no transaction round trips, and any write raises.
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    telemetry.setup_tracing(definition.name, definition.settings.otel_exporter)
    logging.basicConfig(level=definition.settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per outgoing request is noise

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition)
        app.state.runtime = runtime
        await runtime.start()
        resources = contextlib.AsyncExitStack()
        for resource in definition.resources:
            await resources.enter_async_context(resource(app))
        # The modules, routes and caches built so far live as long as the process: out of
        # the collector's sight, a full collection walks only what requests allocate (over
        # the registry's 190,000 startup objects it took 93 ms, in the middle of requests).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await resources.aclose()
            await runtime.stop()

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        openapi_tags=definition.openapi_tags,
        telemetry=telemetry.http_telemetry(definition.untraced),
    )
    app.state.clock = Clock(definition.settings.timezone)  # tests may swap in a FixedClock
    #: What a tool needs to build the service's parts outside its lifespan (its consumers,
    #: to replay dead letters: ``kit.replay.replay_service_dead_letters``).
    app.state.definition = definition
    app.state.constraint_problems = definition.constraint_problems
    install_error_handlers(app)
    app.add_middleware(RefuseControlCharacters)  # inside BodyLimit: buffers a bounded body
    app.add_middleware(
        BodyLimit,
        max_body_bytes=definition.settings.max_body_bytes,
        path_limits=definition.body_limits,
    )

    @app.get("/healthz", tags=["operations"], summary="Process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": definition.name}

    @app.get("/readyz", tags=["operations"], summary="Database and NATS reachable")
    async def readyz(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    for router in definition.routers:
        # The router's own routes, as built once at import: include_router would wrap them
        # for this app and rebuild every route's models on first use (0.2 s of CPU an app,
        # which a test suite creating hundreds of apps pays hundreds of times). A router
        # is included as it is, without another prefix, so its routes are already final.
        app.router.routes.extend(router.routes)
    assert_every_route_is_protected(app)
    assert_nothing_runs_in_the_thread_pool(app)
    return app


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    route: APIRoute


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every API route with its full path, included routers flattened."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append(
                RouteInfo(
                    context.path or route.path, frozenset(context.methods or route.methods), route
                )
            )
    return found


def route_scopes(route: APIRoute) -> tuple[str, ...] | None:
    """The scopes a route requires (None if it declares none)."""
    for call in dependencies(route):
        scopes = getattr(call, "required_scopes", None)
        if scopes is not None:
            return scopes
    return None


def is_public(info: Any) -> bool:
    """An operational route, or one marked with :func:`kit.auth.public`."""
    return info.path in PUBLIC_PATHS or route_scopes(info.route) == ()


def dependencies(route: APIRoute) -> list[Any]:
    """Every dependency callable of a route, nested ones included."""
    found, stack = [], list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        found.append(dependency.call)
        stack.extend(dependency.dependencies)
    return found


def assert_nothing_runs_in_the_thread_pool(app: FastAPI) -> None:
    """FastAPI runs a plain ``def`` endpoint or dependency in its thread pool: a thread hop
    per call, which under load costs more than the work itself. Blocking work belongs in an
    explicit ``asyncio.to_thread``; everything else is ``async def``."""
    for info in api_routes(app):
        for call in [info.route.endpoint, *dependencies(info.route)]:
            if not _runs_on_the_event_loop(call):
                raise RuntimeError(
                    f"route {sorted(info.methods)} {info.path}: {call.__qualname__} is not "
                    "async def (it would run in the thread pool)"
                )


def _runs_on_the_event_loop(call: Any) -> bool:
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    return inspect.iscoroutinefunction(type(call).__call__)  # an instance with async __call__


def assert_every_route_is_protected(app: FastAPI) -> None:
    """Deny by default: refuse to build an app with an unprotected non-public route."""
    for info in api_routes(app):
        if info.path not in PUBLIC_PATHS and route_scopes(info.route) is None:
            raise RuntimeError(
                f"route {sorted(info.methods)} {info.path} declares no scope (use kit.auth.requires)"
            )
