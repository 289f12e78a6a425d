"""Dead letters delivered again once their cause is fixed (``make replay-dead-letters``).

The defect of issue 14 A, reproduced in the database: health refused a person without an ID
number (then a NOT NULL column, here a CHECK constraint), so every registry event of a
household with a newborn was retried and dead-lettered. Once the constraint is gone, the
replay applies them through the consumer's idempotent path, removes them, and a second
replay finds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid

import asyncpg
import nats
import pytest_asyncio
from gateway_testdata import VILLAGE, member, snapshot
from registry_testdata import households_with_a_member_without_id_number, seed_regions
from sqlalchemy import text

from contracts.events import registry as events
from devstack.project import DataDir, load_services
from devstack.provisioning import migrate, provision_streams
from devstack.servers import NatsServer, PostgresServer, free_port
from devstack.testing import eventually, running
from health.config import HealthSettings
from health.main import create_app as create_health
from kit.bus import DEAD_LETTER_PREFIX
from kit.db import asyncpg_dsn
from kit.envelope import build, encode
from kit.replay import DeadLetterReport, dead_letter_count, replay_service_dead_letters
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

CONSUMER = "health-registry"
REFUSE_PERSONS_WITHOUT_ID = (
    "ALTER TABLE persons ADD CONSTRAINT as_before_the_fix CHECK (has_id_number)"
)


@pytest_asyncio.fixture
async def services(stack):
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    # Two deliveries, then the dead-letter stream: the test need not wait through five.
    health_app = create_health(
        HealthSettings(**await stack.settings_for("health", consumer_max_deliver=2))
    )
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(running(registry_app))
        health = await exits.enter_async_context(running(health_app))
        await seed_regions(registry_app)
        yield registry, health, registry_app, health_app


async def _execute(app, statement: str) -> None:
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(text(statement))


async def _events_of(app, household_id: str) -> int:
    """Registry events published about the household so far, once the relay has published
    every one written (a response follows the commit, the relay a moment later)."""

    async def counts() -> tuple[int, int]:
        async with app.state.runtime.engine.connect() as conn:
            query = text(
                "SELECT count(*) FILTER (WHERE published_at IS NOT NULL), count(*) "
                "FROM outbox WHERE aggregate_id = :h"
            )
            return tuple((await conn.execute(query, {"h": household_id})).one())

    published, _ = await eventually(counts, until=lambda c: c[0] == c[1])
    return published


async def _members_in_health(health, household_id: str, headers) -> int | None:
    response = await health.get(f"/households/{household_id}/summary", headers=headers)
    return response.json()["facts"]["members"] if response.status_code == 200 else None


async def test_dead_letters_are_replayed_once_their_cause_is_fixed(services, auth_keys):
    registry, health, registry_app, health_app = services
    headers = auth_keys.headers()
    js = health_app.state.runtime.bus.js
    await _execute(health_app, REFUSE_PERSONS_WITHOUT_ID)

    # created with a newborn: all its events fail; given one by birth: its first applies
    registered, born = await households_with_a_member_without_id_number(registry, headers)
    failing = await _events_of(registry_app, registered["id"])
    failing += await _events_of(registry_app, born["id"]) - 1
    assert failing >= 2
    await eventually(lambda: dead_letter_count(js, CONSUMER), until=lambda n: n == failing)
    assert await _members_in_health(health, registered["id"], headers) is None  # 404
    assert await _members_in_health(health, born["id"], headers) == 1

    # While the cause remains, nothing is applied and every dead letter is kept.
    definition = health_app.state.definition
    still_failing = await replay_service_dead_letters(definition)
    assert (still_failing.replayed, still_failing.skipped) == (0, 0)
    assert len(still_failing.failed) == failing
    assert "as_before_the_fix" in still_failing.failed[0]
    assert await dead_letter_count(js, CONSUMER) == failing

    # The fix is deployed; one household changes again and its new event applies live,
    # which makes its dead letters stale (the snapshot carries the whole household).
    await _execute(health_app, "ALTER TABLE persons DROP CONSTRAINT as_before_the_fix")
    changed = await registry.patch(
        f"/households/{registered['id']}", json={"group_no": 5}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    await eventually(
        lambda: _members_in_health(health, registered["id"], headers), until=lambda n: n == 2
    )
    stale = await _events_of(registry_app, registered["id"]) - 1

    report = await replay_service_dead_letters(definition)
    assert report == DeadLetterReport(replayed=failing - stale, skipped=stale, failed=[])
    assert await dead_letter_count(js, CONSUMER) == 0
    assert await _members_in_health(health, born["id"], headers) == 2
    assert await _members_in_health(health, registered["id"], headers) == 2

    # Replayed events are in the inbox like live ones; a second replay finds nothing.
    async with health_app.state.runtime.engine.connect() as conn:
        applied = await conn.execute(
            text("SELECT count(*) FROM inbox WHERE consumer = :c AND outcome = 'applied'"),
            {"c": CONSUMER},
        )
        assert applied.scalar_one() >= failing - stale
    assert await replay_service_dead_letters(definition) == DeadLetterReport()


def _old_household_created(household_id: uuid.UUID) -> dict:
    """A ``registry.household.created`` as the registry published it before the fix: members
    with ``id_number_masked``, None for the newborn (what health could not store)."""
    members = [
        {**member("马建国", "head"), "has_id_number": True},
        {**member("马小宝", "child"), "has_id_number": False, "birth_date": "2026-07-01"},
    ]
    payload = events.HouseholdCreated(**snapshot(household_id, members=members))
    _, envelope = build(
        events.HOUSEHOLD_CREATED,
        source="registry",
        aggregate_id=str(household_id),
        region=VILLAGE,
        sequence=1,
        data=payload,
    )
    for shown, old in zip(envelope["data"]["members"], ["6229**********1234", None], strict=True):
        shown.pop("has_id_number")
        shown["id_number_masked"] = old
    return envelope


async def test_the_documented_command_replays_the_dead_letters_of_make_run(tmp_path):
    """``devstack replay-dead-letters --service health`` (``make replay-dead-letters``)
    against a data folder as ``make run`` keeps it: an old-shaped event of a household with
    a newborn, dead-lettered by the old code, is applied once, then nothing is left."""
    data = DataDir(tmp_path / "data")
    data.create()
    health = next(s for s in load_services() if s.name == "health")
    postgres = PostgresServer(data.pg, free_port(), durable=False)
    nats_server = NatsServer(data.nats, free_port(), passwords=data.nats_passwords())
    postgres.start()
    try:
        nats_server.start()
        postgres.ensure_database("health")
        await migrate(health, postgres.url("health"))
        await provision_streams([health], nats_server.url)
        household_id = uuid.uuid4()
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().publish(
                f"{DEAD_LETTER_PREFIX}.health-registry.{events.HOUSEHOLD_CREATED.subject(VILLAGE)}",
                encode(_old_household_created(household_id)),
                headers={
                    "Jingzhun-Dead-Letter-Reason": 'IntegrityError: null value in column "id_number_masked"'
                },
            )
        finally:
            await nc.close()

        async def replay() -> subprocess.CompletedProcess:
            command = [sys.executable, "-m", "devstack.cli", "--data", str(data.path)]
            command += ["replay-dead-letters", "--service", "health"]
            command += ["--pg-port", str(postgres.port), "--nats-port", str(nats_server.port)]
            return await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, timeout=120
            )

        first = await replay()
        assert first.returncode == 0, first.stderr
        assert "health: replayed 1, skipped 0 (already applied or superseded), failed 0" in (
            first.stdout
        )
        conn = await asyncpg.connect(asyncpg_dsn(postgres.url("health")))
        try:
            stored = await conn.fetch(
                "SELECT name, has_id_number FROM persons WHERE household_id = $1 ORDER BY name",
                household_id,
            )
        finally:
            await conn.close()
        assert sorted((r["name"], r["has_id_number"]) for r in stored) == [
            ("马小宝", False),
            ("马建国", True),
        ]
        second = await replay()
        assert second.returncode == 0, second.stderr
        assert "health: replayed 0, skipped 0" in second.stdout
    finally:
        nats_server.stop()
        postgres.stop()
