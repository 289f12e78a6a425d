"""Helpers for tests that run services in-process against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
from fastapi import FastAPI

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
