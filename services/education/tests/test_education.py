"""The education service answers, and only to callers with its scope."""

from __future__ import annotations

from education_testdata import COUNTY, OTHER_COUNTY, TOWNSHIP

from education.models import audit_table
from kit.audit import AuditLog


async def test_changes_in_the_callers_region(client, education_app, auth_keys):
    async with education_app.state.runtime.sessionmaker() as session, session.begin():
        for region in (TOWNSHIP, OTHER_COUNTY):
            await AuditLog(audit_table).record(
                session,
                actor="test",
                action="thing.created",
                entity="thing",
                entity_id=region,
                region_code=region,
            )
    headers = auth_keys.headers("county_admin", COUNTY, scopes=("education:read",))

    response = await client.get("/changes", headers=headers)

    assert response.status_code == 200, response.text
    assert [entry["region_code"] for entry in response.json()] == [TOWNSHIP]


async def test_changes_need_the_scope(client, auth_keys):
    headers = auth_keys.headers("county_admin", COUNTY, scopes=("status:read",))
    assert (await client.get("/changes", headers=headers)).status_code == 403
    assert (await client.get("/changes")).status_code == 401


async def test_the_registry_s_persons_reach_education(education_app, stack):
    """A household the registry publishes is in education's persons table, through the
    persons library (never the registry's database)."""
    import uuid

    import nats

    from contracts.events import registry as registry_events
    from devstack.registry_payloads import VILLAGE, registry_household, registry_member
    from devstack.testing import eventually, running
    from kit.bus import ensure_stream, service_stream
    from kit.envelope import build, encode

    household_id = uuid.uuid4()
    child = registry_member("马小军", "child", birth_date="2015-03-01")
    _, body = build(
        registry_events.HOUSEHOLD_CREATED,
        source="/jingzhun/registry",
        aggregate_id=str(household_id),
        region=VILLAGE,
        sequence=1,
        data=registry_events.HouseholdCreated.model_validate(
            registry_household(household_id, members=[registry_member(), child])
        ),
    )
    bus = await nats.connect(stack.nats_url)
    try:
        js = bus.jetstream()
        await ensure_stream(js, service_stream("registry"))
        await js.publish(registry_events.HOUSEHOLD_CREATED.subject(VILLAGE), encode(body))
        async with running(education_app):
            from sqlalchemy import text

            async def persons():
                async with education_app.state.runtime.engine.connect() as conn:
                    rows = await conn.execute(
                        text("SELECT name, birth_date FROM persons WHERE household_id = :h"),
                        {"h": household_id},
                    )
                    return sorted((name, str(born)) for name, born in rows)

            found = await eventually(persons, until=lambda rows: len(rows) == 2)
            assert ("马小军", "2015-03-01") in found
    finally:
        await bus.close()
