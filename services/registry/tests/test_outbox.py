"""The transactional outbox: a committed change publishes exactly one event, a rolled-back
one publishes none (real PostgreSQL, real JetStream)."""

from __future__ import annotations

import uuid

import nats
from registry_testdata import NOT_REGION_EVENTS, VILLAGE, household_body, seed_regions
from sqlalchemy import text

from contracts.events import registry as events
from devstack.testing import eventually
from kit.envelope import parse
from registry.events import changes, household_fields
from registry.models import Household


async def stream_messages(nats_url: str) -> list:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages:
                message = await js.get_msg("REGISTRY", seq)
                # the test regions' own events (seeding) are not what these tests are about
                if not message.subject.startswith("registry.region."):
                    out.append(message)
        return out
    finally:
        await nc.close()


async def published_count(app) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    f"SELECT count(*) FROM outbox WHERE published_at IS NOT NULL AND {NOT_REGION_EVENTS}"
                )
            )
        ).scalar_one()


async def test_committed_change_publishes_exactly_one_event(client, registry_app, auth_keys, stack):
    body = household_body()
    created = (await client.post("/households", json=body, headers=auth_keys.headers())).json()
    await eventually(lambda: published_count(registry_app), until=lambda n: n == 1)
    messages = await stream_messages(stack.nats_url)
    assert len(messages) == 1
    message = messages[0]
    assert message.subject == "registry.household.created.62.29.24.100.201"
    event = parse(message.data)
    assert message.headers["Nats-Msg-Id"] == event.id
    assert event.type == "cn.jingzhun.registry.household.created.v1"
    assert event.subject == created["id"] and event.sequence == 1 and event.region == VILLAGE
    assert event.data["household_id"] == created["id"]
    # ID numbers never leave the registry, not even masked (beside the birth date a mask
    # gives the number back): only whether the person has one.
    for member in body["members"]:
        assert member["id_number"] not in message.data.decode()
    assert all(m["has_id_number"] is True for m in event.data["members"])
    assert not any("id_number_masked" in m for m in event.data["members"])


async def test_rolled_back_transaction_publishes_nothing(client, registry_app, auth_keys, stack):
    household = Household(
        region_code=VILLAGE,
        poverty_state="registered",
        assistance_type="general",
        monitoring_category="none",
        causes=["illness"],
        primary_cause="illness",
        version=1,
        id=uuid.uuid4(),
    )
    async with registry_app.state.runtime.sessionmaker() as session:
        session.add(household)
        await changes.record(
            session,
            household,
            events.HOUSEHOLD_CREATED,
            events.HouseholdCreated(**household_fields(household, [], dimensions={})),
            new=True,
            audited=False,
        )
        await session.rollback()
    # A later committed event proves the relay ran after the rollback.
    await client.post("/households", json=household_body(), headers=auth_keys.headers())
    await eventually(lambda: published_count(registry_app), until=lambda n: n == 1)
    messages = await stream_messages(stack.nats_url)
    assert len(messages) == 1
    assert parse(messages[0].data).subject != str(household.id)
    async with registry_app.state.runtime.engine.connect() as conn:
        query = text(f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}")
        assert (await conn.execute(query)).scalar_one() == 1


async def test_failed_request_publishes_nothing(client, registry_app, auth_keys, stack):
    body = household_body()
    assert (
        await client.post("/households", json=body, headers=auth_keys.headers())
    ).status_code == 201
    duplicate = household_body()
    duplicate["members"][0]["id_number"] = body["members"][0]["id_number"]
    assert (
        await client.post("/households", json=duplicate, headers=auth_keys.headers())
    ).status_code == 409
    await eventually(lambda: published_count(registry_app), until=lambda n: n == 1)
    assert len(await stream_messages(stack.nats_url)) == 1


async def test_each_change_is_one_event_in_order(client, registry_app, auth_keys, stack):
    headers = auth_keys.headers()
    created = (
        await client.post("/households", json=household_body(members=2), headers=headers)
    ).json()
    await client.patch(f"/households/{created['id']}", json={"group_no": 5}, headers=headers)
    await client.patch(
        f"/households/{created['id']}/members/{created['members'][1]['id']}",
        json={"labour_capacity": "weak"},
        headers=headers,
    )
    await eventually(lambda: published_count(registry_app), until=lambda n: n == 3)
    messages = await stream_messages(stack.nats_url)
    assert [parse(m.data).sequence for m in messages] == [1, 2, 3]
    assert [m.subject.split(".")[:3] for m in messages] == [
        ["registry", "household", "created"],
        ["registry", "household", "updated"],
        ["registry", "member", "updated"],
    ]
    assert parse(messages[1].data).data["changed"] == ["group_no"]


async def test_published_rows_are_pruned_after_the_retention(stack, auth_keys):
    from devstack.testing import running
    from registry.config import RegistrySettings
    from registry.main import create_app

    app = create_app(
        RegistrySettings(**await stack.settings_for("registry", outbox_retention_hours=0))
    )
    async with running(app) as client:
        await seed_regions(app)
        assert (
            await client.post("/households", json=household_body(), headers=auth_keys.headers())
        ).status_code == 201

        async def rows():
            async with app.state.runtime.engine.connect() as conn:
                return (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()

        async def unpublished():
            async with app.state.runtime.engine.connect() as conn:
                return (
                    await conn.execute(
                        text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                    )
                ).scalar_one()

        # Once everything is published, allow the next prune (the first ran at start-up,
        # and one running before the household's row was published would wait a minute).
        await eventually(unpublished, until=lambda n: n == 0)
        app.state.runtime.relay._pruned_at = 0.0
        await eventually(rows, until=lambda n: n == 0)
        assert (
            len(await stream_messages(stack.nats_url)) == 1
        )  # the event itself stays in JetStream
