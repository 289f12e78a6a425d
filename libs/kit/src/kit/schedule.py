"""A job a service runs once a day in its own process (e.g. a dimension that changes with
age, not with any record): declared as one of its ``ServiceDefinition.resources``::

    resources=[daily("reassess", reassess_everyone, at=dt.time(0, 30))]

The job runs at ``at`` in the service's time zone (its clock's), every day while the
service runs. With several replicas, one runs it: the others find its advisory lock held
and skip the day. A failing job is logged and tried again the next day; it must be
idempotent (a day may also see it twice, e.g. across a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

log = logging.getLogger(__name__)

#: The job: given the app (its runtime's sessionmaker, its clock), does the day's work.
Job = Callable[[FastAPI], Awaitable[Any]]


def seconds_until(now: dt.datetime, at: dt.time) -> float:
    """Seconds from ``now`` (aware, in the service's zone) to the next ``at`` after it."""
    today_at = dt.datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    next_run = today_at if today_at > now else today_at + dt.timedelta(days=1)
    return (next_run - now).total_seconds()


def daily(
    name: str, job: Job, *, at: dt.time
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The resource that runs ``job`` every day at ``at`` while the app lives."""

    @contextlib.asynccontextmanager
    async def running(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_every_day(app, name, job, at), name=f"daily-{name}")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return running


async def _every_day(app: FastAPI, name: str, job: Job, at: dt.time) -> None:
    while True:
        clock = app.state.clock  # read each day: tests swap in a FixedClock
        await asyncio.sleep(seconds_until(clock.now().astimezone(clock.zone), at))
        try:
            await _run_alone(app, name, job)
        except Exception:  # noqa: BLE001 - logged; tomorrow is another try
            log.exception("daily job %s failed; it runs again tomorrow", name)


async def _run_alone(app: FastAPI, name: str, job: Job) -> None:
    """The job, unless another replica runs it now (a session advisory lock on its name)."""
    key = f"daily:{app.state.definition.name}:{name}"
    async with app.state.runtime.engine.connect() as lock:
        held = await lock.scalar(text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": key})
        await lock.commit()
        if not held:
            log.info("daily job %s: another replica runs it", name)
            return
        try:
            result = await job(app)
            log.info("daily job %s done: %s", name, result)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": key})
            await lock.commit()
