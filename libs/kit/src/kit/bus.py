"""NATS JetStream connection and stream provisioning.

The connection is made in the background and retried forever, so a service starts (and
answers /healthz) while NATS is down; the outbox keeps events until the bus is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_PREFIX = "deadletter"
DUPLICATE_WINDOW_SECONDS = 600.0  # broker-side dedupe by Nats-Msg-Id (≥ 2 minutes)


def redacted(url: str) -> str:
    """The URL fit for logs: a password (or a bare token) in it becomes ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = f"{userinfo.split(':', 1)[0]}:***" if ":" in userinfo else "***"
    return parts._replace(netloc=f"{user}@{host}").geturl()


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``nats://user:pw@host:4222`` → (``nats://host:4222``, {user, password}).

    The URL is the one place credentials are configured; they are handed to the client as
    options so that they also apply to the cluster members the server announces, whose
    URLs carry none.
    """
    parts = urlsplit(url)
    if parts.password is None:  # no user:password (a bare token stays in the URL)
        return url, {}
    host = parts.netloc.rsplit("@", 1)[1]
    options = {"user": unquote(parts.username or ""), "password": unquote(parts.password)}
    return parts._replace(netloc=host).geturl(), options


def stream_config(name: str, subjects: list[str]) -> StreamConfig:
    """Events are the audit trail and allow projection rebuilds: file storage, kept forever."""
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=0,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


def service_stream(service: str) -> StreamConfig:
    """The stream a service publishes to: ``REGISTRY`` ← ``registry.>``."""
    return stream_config(service.upper(), [f"{service}.>"])


def dead_letter_stream() -> StreamConfig:
    return stream_config(DEAD_LETTER_STREAM, [f"{DEAD_LETTER_PREFIX}.>"])


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or update it to this configuration (idempotent)."""
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", config.name)
        return
    await js.update_stream(config)


class Bus:
    """One NATS connection per service process."""

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self._nc: Client | None = None
        self._js: JetStreamContext | None = (
            None  # one context: async publishes share its reply inbox
        )
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise ConnectionError("NATS is not connected yet")
        return self._js

    @property
    def client(self) -> Client:
        if self._nc is None:
            raise ConnectionError("NATS is not connected yet")
        return self._nc

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"{self.name}-nats-connect")

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def _connect_forever(self) -> None:
        delay = 0.2
        while not self._closing:
            server, credentials = split_credentials(self.url)
            try:
                self._nc = await nats.connect(
                    server,
                    **credentials,
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,  # once connected, reconnect for ever
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
                self._js = self._nc.jetstream()
                self._connected.set()
                log.info("%s connected to NATS at %s", self.name, redacted(self.url))
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "try again"
                log.warning(
                    "NATS not reachable at %s (%s); retrying in %.1fs",
                    redacted(self.url),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_disconnected(self) -> None:
        log.warning("%s disconnected from NATS", self.name)

    async def _on_reconnected(self) -> None:
        log.info("%s reconnected to NATS", self.name)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS client error: %s", exc)

    async def close(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()


async def wait_until_consumed(
    nats_url: str,
    stream: str,
    durable: str,
    *,
    timeout: float = 600.0,
    quiet: float = 3.0,
    echo: Callable[[str], None] = print,
) -> None:
    """Until the durable consumer ``durable`` of ``stream`` has nothing pending or
    unacknowledged and has stayed so for ``quiet`` seconds (a producer's relay may still be
    publishing its outbox just after start): what a demo loader waits for before it reads a
    read model. A TimeoutError after ``timeout`` seconds."""
    server, credentials = split_credentials(nats_url)
    nc = await nats.connect(server, **credentials)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        caught_up_since: float | None = None
        last_seen: tuple | None = None
        next_message = time.monotonic()
        while True:
            now = time.monotonic()
            try:
                info = await js.consumer_info(stream, durable)
                pending, unacked = info.num_pending or 0, info.num_ack_pending or 0
                seen = (info.delivered.stream_seq, pending, unacked)
            except NotFoundError:  # its service has not created the consumer yet
                pending, unacked, seen = None, None, None
            if pending == 0 and unacked == 0 and seen == last_seen:
                caught_up_since = caught_up_since or now
                if now - caught_up_since >= quiet:
                    return
            else:
                caught_up_since = None
            last_seen = seen
            if now >= deadline:
                raise TimeoutError(
                    f"{durable} has not caught up with {stream} after {timeout:.0f}s "
                    f"({pending} pending, {unacked} unacknowledged)"
                )
            if now >= next_message and not (pending == 0 and unacked == 0):
                echo(
                    f"waiting for {durable} to apply {stream}'s events: "
                    + ("consumer not created yet" if seen is None else f"{pending + unacked} left")
                )
                next_message = now + 5.0
            await asyncio.sleep(0.5)
    finally:
        await nc.close()
