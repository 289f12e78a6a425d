"""A rebuild replays the streams beside the live projection and switches it in at once:
the same state as incremental projection, and never half of one in between."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from gateway_testdata import (
    applied,
    counters,
    event,
    notifications_delivered,
    projection_state,
    publish,
)
from sqlalchemy import text
from test_statistics import COUNTY, _scenario

from contracts.events import registry as events
from devstack.testing import eventually, running
from gateway.config import GatewaySettings
from gateway.main import create_app
from gateway.rebuild import rebuild
from kit.replay import FINAL_CATCH_UP, REPLAYING, SCRATCH_SCHEMA, SWITCHING


async def test_rebuild_equals_the_incremental_state(client, gateway_app, js):
    await _scenario(js)
    await applied(gateway_app, 10)
    before = await projection_state(gateway_app)
    assert len(before["household_status"]) == 3 and before["region_counters"]

    settings: GatewaySettings = gateway_app.state.runtime.settings
    report = await rebuild(settings)  # while the gateway runs
    assert report.events == 10 and not report.failed
    assert report.outcomes == {"applied": 10}

    assert await projection_state(gateway_app) == before
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
    assert not await _scratch_exists(gateway_app)


class Pause:
    """A progress callback that holds the rebuild at the first report of ``step`` with at
    least ``done`` events, until :meth:`resume`."""

    def __init__(self, step: str, done: int = 0, fail: bool = False) -> None:
        self.step, self.done, self.fail = step, done, fail
        self.reached = asyncio.Event()
        self._resume = asyncio.Event()
        self.steps: list[str] = []

    async def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.steps:
            self.steps.append(step)
        if step == self.step and done >= self.done and not self.reached.is_set():
            self.reached.set()
            await self._resume.wait()
            if self.fail:
                raise RuntimeError("the rebuild's process died")

    def resume(self) -> None:
        self._resume.set()


async def test_readers_and_live_consumers_keep_the_old_projection_until_the_switch(
    client, gateway_app, js, auth_keys
):
    a, _b, _c = await _scenario(js)
    await applied(gateway_app, 10)
    headers = auth_keys.headers()
    stats_url, status_url = f"/regions/{COUNTY}/stats", f"/households/{a}/status"
    stats = _but_time((await client.get(stats_url, headers=headers)).json())
    status = (await client.get(status_url + "?fresh=false", headers=headers)).json()
    fresh = _but_time((await client.get(status_url + "?fresh=true", headers=headers)).json())
    assert stats["all"] == {"households": 3, "persons": 4}
    cache = gateway_app.state.status_cache
    assert str(a) in cache._entries

    settings: GatewaySettings = gateway_app.state.runtime.settings
    pause = Pause(REPLAYING, done=1)
    rebuilding = asyncio.create_task(rebuild(settings, pause))
    await asyncio.wait_for(pause.reached.wait(), 30)

    # A batch of the registry's stream in, the housing one not yet: the copy is half-built,
    # readers still get the whole projection.
    assert 0 < await _scratch_rows(gateway_app, "inbox") < 10
    await notifications_delivered(gateway_app)
    assert str(a) in cache._entries  # the copy's rows notify no one
    assert _but_time((await client.get(stats_url, headers=headers)).json()) == stats
    assert (await client.get(status_url + "?fresh=false", headers=headers)).json() == status
    assert (
        _but_time((await client.get(status_url + "?fresh=true", headers=headers)).json()) == fresh
    )
    # The live consumers keep projecting: a new household shows at once.
    d = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, d, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await applied(gateway_app, 11)
    moved = _but_time((await client.get(stats_url, headers=headers)).json())
    assert moved["all"]["households"] == 4
    before = await projection_state(gateway_app)

    pause.resume()
    report = await asyncio.wait_for(rebuilding, 60)
    assert report.events == 11 and not report.failed
    assert pause.steps[0] == REPLAYING and pause.steps[-2:] == [FINAL_CATCH_UP, SWITCHING]
    # The switched-in projection has the live event, and equals what live projection built.
    assert await projection_state(gateway_app) == before
    assert _but_time((await client.get(stats_url, headers=headers)).json()) == moved
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
    assert not await _scratch_exists(gateway_app)


async def test_an_event_published_while_live_consumers_pause_is_applied_once(
    client, gateway_app, js, auth_keys
):
    """Held at the switch, the live consumers wait; an event published meanwhile is in
    the switched-in projection or applied after it, never twice."""
    await _scenario(js)
    await applied(gateway_app, 10)
    settings: GatewaySettings = gateway_app.state.runtime.settings
    pause = Pause(SWITCHING)
    rebuilding = asyncio.create_task(rebuild(settings, pause))
    await asyncio.wait_for(pause.reached.wait(), 30)
    d = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, d, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)

    async def waiting_for_the_lock() -> int:
        async with gateway_app.state.runtime.engine.connect() as conn:
            return await conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

    await eventually(waiting_for_the_lock, until=lambda waiting: waiting > 0)  # the live consumer
    pause.resume()
    await asyncio.wait_for(rebuilding, 60)
    await applied(gateway_app, 11)
    stats = (await client.get(f"/regions/{COUNTY}/stats", headers=auth_keys.headers())).json()
    assert stats["all"]["households"] == 4
    async with gateway_app.state.runtime.engine.connect() as conn:
        outcomes = (
            await conn.execute(
                text("SELECT outcome FROM inbox WHERE event_id = :id"), {"id": created["id"]}
            )
        ).all()
    assert outcomes == [("applied",)]
    stored, recounted = await counters(gateway_app)
    assert stored == recounted


async def test_an_event_the_live_consumers_have_not_read_is_still_new_to_them(
    gateway_app, js, auth_keys
):
    """The copy has an event the gateway has not read yet (it was down, or behind): after
    the switch the gateway reads it as new (its public copy is staged) and finds its
    household's position past it (stale, not applied twice)."""
    async with running(gateway_app):
        settings: GatewaySettings = gateway_app.state.runtime.settings
        await _scenario(js)
        await applied(gateway_app, 10)
    d = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, d, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)  # while the gateway is down
    report = await rebuild(settings)
    assert report.events == 11 and not report.failed

    again = create_app(settings)
    async with running(again) as client:
        await applied(again, 11)
        async with again.state.runtime.engine.connect() as conn:
            outcome = await conn.scalar(
                text("SELECT outcome FROM inbox WHERE event_id = :id"), {"id": created["id"]}
            )
            staged = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE envelope->>'id' = :id"),
                {"id": created["id"]},
            )
        assert (outcome, staged) == ("stale", 1)
        stats = (await client.get(f"/regions/{COUNTY}/stats", headers=auth_keys.headers())).json()
        assert stats["all"]["households"] == 4
        stored, recounted = await counters(again)
        assert stored == recounted


@pytest.mark.parametrize("failure", ["process dies half-way", "switch refused"])
async def test_a_failed_rebuild_leaves_the_old_projection(client, gateway_app, js, failure):
    await _scenario(js)
    await applied(gateway_app, 10)
    before = await projection_state(gateway_app)
    settings: GatewaySettings = gateway_app.state.runtime.settings
    if failure == "process dies half-way":
        pause = Pause(REPLAYING, done=1, fail=True)
        rebuilding = asyncio.create_task(rebuild(settings, pause))
        await asyncio.wait_for(pause.reached.wait(), 30)
    else:
        # At the switch, with the live consumers paused: a row the live table refuses,
        # after the DELETE of the tables switched before it.
        pause = Pause(SWITCHING)
        rebuilding = asyncio.create_task(rebuild(settings, pause))
        await asyncio.wait_for(pause.reached.wait(), 30)
        async with gateway_app.state.runtime.engine.begin() as conn:
            await conn.execute(
                text(f"ALTER TABLE {SCRATCH_SCHEMA}.health_records ALTER kind DROP NOT NULL")
            )
            await conn.execute(
                text(
                    f"INSERT INTO {SCRATCH_SCHEMA}.health_records (record_id, kind, "
                    "region_code, year, counted, subsidy_fen, compliant_fen, compliant_personal_fen) "
                    "VALUES (:id, NULL, '622924', 2026, true, 0, 0, 0)"
                ),
                {"id": uuid.uuid4()},
            )
    pause.resume()
    with pytest.raises(Exception, match="died|null value"):
        await asyncio.wait_for(rebuilding, 60)

    assert await projection_state(gateway_app) == before
    assert not await _scratch_exists(gateway_app)
    # The live consumers were let go: they project as before.
    d = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, d, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await applied(gateway_app, 11)
    # And the next rebuild runs.
    report = await rebuild(settings)
    assert report.events == 11 and not report.failed


def _but_time(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "as_of"}


async def _scratch_exists(app) -> bool:
    async with app.state.runtime.engine.connect() as conn:
        return bool(
            await conn.scalar(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :name"),
                {"name": SCRATCH_SCHEMA},
            )
        )


async def _scratch_rows(app, table: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return await conn.scalar(text(f"SELECT count(*) FROM {SCRATCH_SCHEMA}.{table}"))
