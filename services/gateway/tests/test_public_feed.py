"""The public feed: every event the gateway reads, redacted, on ``public.<region>.<event>``,
exactly once, staged in the consumer's transaction (outbox), never republished by a rebuild."""

from __future__ import annotations

import json
import uuid

import nats
from gateway_testdata import VILLAGE, event, inbox_outcomes, publish
from sqlalchemy import text

from contracts.events import registry as events
from contracts.public import public_filter, public_subject
from devstack.testing import eventually
from gateway.rebuild import rebuild

HEAD = "马建国"  # the test snapshot's head (gateway_testdata.snapshot)


async def _messages(subscription, until_id: str) -> list:
    seen = []
    while True:
        message = await subscription.next_msg(timeout=15)
        seen.append(message)
        if json.loads(message.data)["id"] == until_id:
            return seen


async def _unpublished(app) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return (
            await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        ).scalar_one()


async def test_each_event_read_is_republished_redacted_once(client, gateway_app, js, stack):
    nc = await nats.connect(stack.nats_url)
    try:
        feed = await nc.subscribe(public_filter(VILLAGE[:6] + "000000"))
        await nc.flush()
        hid = uuid.uuid4()
        _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
        await publish(js, events.HOUSEHOLD_CREATED, created)
        # the same event again (a redelivery with a new message id) is not republished
        await publish(js, events.HOUSEHOLD_CREATED, created)
        _, updated = event(
            events.HOUSEHOLD_UPDATED, hid, 2, poverty_state="planned_exit", changed=["x"]
        )
        await publish(js, events.HOUSEHOLD_UPDATED, updated)
        seen = await _messages(feed, updated["id"])
        assert [m.subject for m in seen] == [
            public_subject(VILLAGE, "registry.household.created"),
            public_subject(VILLAGE, "registry.household.updated"),
        ]
        first = json.loads(seen[0].data)
        assert first["id"] == created["id"] and first["type"] == created["type"]
        assert first["redacted"] is True and first["region"] == VILLAGE
        assert first["data"]["household_id"] == str(hid)
        assert first["data"]["poverty_state"] == "registered"
        assert len(first["data"]["members"]) == 1
        raw = b"".join(m.data for m in seen).decode()
        for secret in [HEAD, "6229**********1234", "1970-01-01", "2500.00"]:
            assert secret not in raw, secret
        # stored in the PUBLIC stream too, each event once (the source event's id)
        await eventually(lambda: _unpublished(gateway_app), until=lambda n: n == 0)
        assert (await js.stream_info("PUBLIC")).state.messages == 2
        assert (await inbox_outcomes(gateway_app)).get("applied") == 2

        # a rebuild replays the projections without republishing
        report = await rebuild(gateway_app.state.runtime.settings)
        assert report.outcomes["applied"] == 2 and not report.failed
        assert await _unpublished(gateway_app) == 0
        assert (await js.stream_info("PUBLIC")).state.messages == 2
    finally:
        await nc.close()


async def _staged(app) -> list[str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(text("SELECT envelope->>'id' FROM outbox ORDER BY position"))
        return [row[0] for row in rows]


async def test_an_event_that_fails_is_not_republished(client, gateway_app, js):
    """The public copy is staged in the consumer's transaction: an event whose handler
    fails (dead-lettered) leaves no copy behind, the next good event has its own."""
    hid = uuid.uuid4()
    _, broken = event(events.HOUSEHOLD_CREATED, hid, 1)
    broken["data"] = {"household_id": str(hid)}  # the handler cannot apply it
    await publish(js, events.HOUSEHOLD_CREATED, broken)

    async def dead_letters():
        return (await js.stream_info("DEADLETTER")).state.messages

    await eventually(dead_letters, until=lambda n: n == 1, timeout=30)
    _, good = event(events.HOUSEHOLD_CREATED, uuid.uuid4(), 1)
    await publish(js, events.HOUSEHOLD_CREATED, good)
    assert await eventually(lambda: _staged(gateway_app), until=bool) == [good["id"]]
