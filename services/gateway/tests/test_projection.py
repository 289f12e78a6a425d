"""The gateway's registry projection: idempotent, order-tolerant, poison messages visible."""

from __future__ import annotations

import json
import uuid

from gateway_testdata import (
    VILLAGE,
    event,
    inbox_outcomes,
    member,
    publish,
    snapshot,
    status_row,
)

from contracts.events import CATALOGUE
from contracts.events import registry as events
from devstack.testing import eventually
from gateway.consumers import PROJECTIONS
from kit.envelope import build


def test_gateway_handles_exactly_the_events_the_catalogue_lists_for_it():
    handled = {name for c in PROJECTIONS for name in c.handlers}
    listed = {spec.name for spec in CATALOGUE.consumed_by("gateway")}
    assert handled == listed


async def test_same_event_twice_changes_nothing(client, gateway_app, js):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    first = await eventually(lambda: status_row(gateway_app, hid))
    await publish(js, events.HOUSEHOLD_CREATED, created)  # same event id, delivered again
    await eventually(
        lambda: inbox_outcomes(gateway_app),
        until=lambda o: o.get("applied") == 1 and sum(o.values()) == 1,
    )
    # A third, later event proves the duplicate was consumed before it.
    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, poverty_state="planned_exit", changed=["poverty_state"]
    )
    await publish(js, events.HOUSEHOLD_UPDATED, updated)
    row = await eventually(
        lambda: status_row(gateway_app, hid), until=lambda r: r["poverty_state"] == "planned_exit"
    )
    assert row["registry_event_id"] == updated["id"] and first["registry_event_id"] == created["id"]
    assert await inbox_outcomes(gateway_app) == {"applied": 2}
    assert gateway_app.state.runtime.consumers[0].outcomes["duplicate"] == 1  # caught by the inbox


async def test_an_event_published_before_has_id_number_still_applies(client, gateway_app, js):
    """Events on the stream from before the change carry ``id_number_masked`` (None for a
    newborn) instead of ``has_id_number``: the projection takes them as they are."""
    hid = uuid.uuid4()
    newborn = {**member("马小宝", "child"), "has_id_number": False}
    _, created = event(
        events.HOUSEHOLD_CREATED, hid, 1, members=[member("马建国", "head"), newborn]
    )
    for shown, old in zip(created["data"]["members"], ["6229**********1234", None], strict=True):
        shown["id_number_masked"] = old
        del shown["has_id_number"]
    await publish(js, events.HOUSEHOLD_CREATED, created)
    row = await eventually(lambda: status_row(gateway_app, hid))
    assert row["member_count"] == 2 and row["registry_event_id"] == created["id"]


async def test_older_event_after_newer_changes_nothing(client, gateway_app, js):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, poverty_state="exited", changed=["poverty_state"]
    )
    await publish(js, events.HOUSEHOLD_UPDATED, updated)  # newer arrives first
    await eventually(
        lambda: status_row(gateway_app, hid), until=lambda r: r and r["poverty_state"] == "exited"
    )
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await eventually(lambda: inbox_outcomes(gateway_app), until=lambda o: o.get("stale") == 1)
    row = await status_row(gateway_app, hid)
    assert row["poverty_state"] == "exited" and row["registry_event_id"] == updated["id"]


async def test_member_event_updates_the_household_basics(client, gateway_app, js):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    household = snapshot(hid)
    member = dict(
        member_id=uuid.uuid4(),
        name="王秀英",
        has_id_number=True,
        gender="female",
        birth_date="1972-02-02",
        relation="spouse",
        labour_capacity="able",
    )
    household["members"].append(member)
    data = events.MemberAdded(
        household_id=hid, region_code=VILLAGE, member=member, household=household
    )
    _, added = build(
        events.MEMBER_ADDED,
        source="/jingzhun/registry",
        aggregate_id=str(hid),
        region=VILLAGE,
        sequence=2,
        data=data,
    )
    await publish(js, events.MEMBER_ADDED, added)
    row = await eventually(
        lambda: status_row(gateway_app, hid), until=lambda r: r and r["member_count"] == 2
    )
    assert row["head_name"] == "马建国"


async def test_poison_messages_go_to_the_dead_letter_stream(client, gateway_app, js):
    await js.publish("registry.household.created.62.29.24.100.201", b"{not a cloudevent")
    hid = uuid.uuid4()
    _, broken = event(events.HOUSEHOLD_CREATED, hid, 1)
    broken["data"] = {"household_id": str(hid)}  # valid envelope, payload the handler cannot apply
    await publish(js, events.HOUSEHOLD_CREATED, broken)

    async def dead_letters():
        info = await js.stream_info("DEADLETTER")
        return info.state.messages

    await eventually(dead_letters, until=lambda n: n == 2, timeout=30)
    first = await js.get_msg("DEADLETTER", 1)
    assert (
        first.subject == "deadletter.gateway-registry.registry.household.created.62.29.24.100.201"
    )
    assert "unparseable" in first.headers["Jingzhun-Dead-Letter-Reason"]
    second = await js.get_msg("DEADLETTER", 2)
    assert json.loads(second.data)["id"] == broken["id"]
    assert await status_row(gateway_app, hid) is None
    # The consumer keeps going after poison messages.
    _, good = event(events.HOUSEHOLD_CREATED, uuid.uuid4(), 1)
    await publish(js, events.HOUSEHOLD_CREATED, good)
    await eventually(lambda: inbox_outcomes(gateway_app), until=lambda o: o.get("applied") == 1)


async def test_old_inbox_entries_are_pruned_and_their_events_stay_refused(client, gateway_app, js):
    from sqlalchemy import text

    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, poverty_state="planned_exit", changed=["poverty_state"]
    )
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await publish(js, events.HOUSEHOLD_UPDATED, updated)
    await eventually(lambda: inbox_outcomes(gateway_app), until=lambda o: o.get("applied") == 2)
    async with gateway_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE inbox SET received_at = now() - interval '8 days' WHERE event_id = :id"),
            {"id": created["id"]},
        )
    consumer = gateway_app.state.runtime.consumers[0]
    assert await consumer.prune_inbox() == 1  # 7 days by default; the recent one stays
    assert await inbox_outcomes(gateway_app) == {"applied": 1}

    # The forgotten event, delivered again much later, is still refused: by its sequence.
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await eventually(lambda: inbox_outcomes(gateway_app), until=lambda o: o.get("stale") == 1)
    row = await status_row(gateway_app, hid)
    assert row["poverty_state"] == "planned_exit" and row["registry_event_id"] == updated["id"]


async def test_a_batch_with_a_bad_event_still_applies_the_good_ones(gateway_app, js, spans):
    from devstack.testing import running
    from kit.bus import ensure_stream, service_stream

    await ensure_stream(js, service_stream("registry"))
    good = [event(events.HOUSEHOLD_CREATED, uuid.uuid4(), 1)[1] for _ in range(3)]
    _, broken = event(events.HOUSEHOLD_CREATED, uuid.uuid4(), 1)
    broken["data"] = {"household_id": broken["subject"]}  # the handler cannot apply it
    for body in (good[0], broken, good[1], good[2]):  # waiting before the gateway starts
        await publish(js, events.HOUSEHOLD_CREATED, body)

    async with running(gateway_app):
        await eventually(lambda: inbox_outcomes(gateway_app), until=lambda o: o == {"applied": 3})
        for body in good:
            assert (await status_row(gateway_app, uuid.UUID(body["subject"])))["registry_event_id"]

        async def dead_letters():
            return (await js.stream_info("DEADLETTER")).state.messages

        await eventually(dead_letters, until=lambda n: n == 1, timeout=30)
    # The four arrived in one fetch: tried as one transaction, which failed, then one by one.
    batch_sizes = {s.attributes.get("jingzhun.batch") for s in spans.get_finished_spans()}
    assert 4 in batch_sizes


async def test_a_live_event_is_not_kept_waiting_behind_a_backlog(stack, js):
    """A county import leaves thousands of events to project; a change made meanwhile is
    applied at once by the head lane, and the backlog, when it reaches it, finds it done."""
    from devstack.testing import running
    from gateway.config import GatewaySettings
    from gateway.main import create_app
    from kit.bus import ensure_stream, service_stream

    app = create_app(GatewaySettings(**await stack.settings_for("gateway", consumer_batch_size=5)))
    await ensure_stream(js, service_stream("registry"))
    backlog = 1000
    for _ in range(backlog):
        await publish(
            js, events.HOUSEHOLD_CREATED, event(events.HOUSEHOLD_CREATED, uuid.uuid4(), 1)[1]
        )
    async with running(app):
        consumer = app.state.runtime.consumers[0]

        async def following():
            return consumer.following_the_head

        await eventually(following)
        live = uuid.uuid4()
        await publish(js, events.HOUSEHOLD_CREATED, event(events.HOUSEHOLD_CREATED, live, 1)[1])
        await eventually(lambda: status_row(app, live))
        outcomes = await inbox_outcomes(app)
        assert outcomes["applied"] < backlog + 1  # the backlog is still being worked through
        await eventually(
            lambda: inbox_outcomes(app), until=lambda o: o == {"applied": backlog + 1}, timeout=120
        )
        # The durable consumer met the live event in its turn: already in the inbox. (Its
        # batch is counted after the commit and the acks before it: waited for.)
        duplicates = await eventually(
            lambda: _outcome(consumer, "duplicate"), until=lambda n: n >= 1
        )
        assert duplicates == 1
        await eventually(following, until=lambda on: not on)  # caught up: one lane again


async def _outcome(consumer, outcome: str) -> int:
    return consumer.outcomes[outcome]
