"""Helpers for tests that run services in-process against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from devstack.servers import free_port

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (database, bus, relay, consumers) and give a client for it."""
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.started.wait(), timeout=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    timeout: float = 30.0,
    every: float = 0.1,
) -> T:
    """Poll ``probe`` until ``until(result)`` holds; fail with the last result after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout:.0f}s; last value: {result!r}")
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app under a real uvicorn server on a free port (streams, and services
    other services call over HTTP); yields a client for it. On exit every request must
    have ended before the server stops."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        await asyncio.wait_for(app.state.runtime.started.wait(), timeout=30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
            yield client
    finally:
        # Clients have left: every request (a stream included) must end before the server
        # stops, or a stream outlived its client.
        await eventually(
            lambda: asyncio.sleep(0, len(server.server_state.tasks)),
            until=lambda running: running == 0,
            timeout=10,
        )
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
