"""The registry's dimensions in its events and its summary endpoint, region events, and
the policy line deciding income (real PostgreSQL, real JetStream)."""

from __future__ import annotations

import datetime as dt
import uuid

import nats
from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body, region_payloads
from sqlalchemy import text
from test_helpers import assign, new_helper, visit
from test_import import as_csv, family, upload
from workflow_steps import COUNTY, DOC, set_today

from contracts.events import registry as events
from devstack.testing import eventually
from kit.envelope import parse
from registry.regions.service import upsert_regions

TODAY = dt.date(2026, 3, 10)
TOWNSHIP = "622924100000"


def surveyed(income: str, *, food=True, water=True, year=2025) -> dict:
    return {
        "survey_year": year,
        "per_capita_net_income": income,
        "food_clothing_secure": food,
        "safe_drinking_water": water,
    }


async def create(client, headers, survey: dict | None, region=VILLAGE) -> dict:
    body = household_body(region)
    if survey is None:
        body.pop("survey")
    else:
        body["survey"] = survey
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def event_data(app, household_id: str, event_type: str) -> list[dict]:
    """Payloads of the household's events of one type, oldest first (from the outbox)."""
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope->'data' FROM outbox WHERE aggregate_id = :h "
                "AND event_type = :t ORDER BY position"
            ),
            {"h": household_id, "t": f"cn.jingzhun.{event_type}.v1"},
        )
        return list(rows.scalars())


def as_of(snapshot: dict) -> set:
    return {
        f["as_of"] and dt.datetime.fromisoformat(f["as_of"])
        for f in snapshot["dimensions"].values()
    }


def states(dimensions: dict) -> dict:
    return {name: (fact["status"], fact["reason"]) for name, fact in dimensions.items()}


ALL_OK = {"income": ("ok", None), "food_clothing": ("ok", None), "water": ("ok", None)}


async def test_events_carry_the_dimensions_decided_from_the_survey(client, registry_app, auth_keys):
    clock = set_today(registry_app, TODAY)
    admin = auth_keys.headers("county_admin", COUNTY)
    above = await create(client, admin, surveyed("3322.01"))
    [created] = await event_data(registry_app, above["id"], "registry.household.created")
    assert states(created["dimensions"]) == ALL_OK
    # as_of: when the survey was recorded (the service clock)
    first_recorded = as_of(created)
    assert first_recorded == {clock.now()}

    on_line = await create(client, admin, surveyed("3322.00", food=False, water=None))
    [created] = await event_data(registry_app, on_line["id"], "registry.household.created")
    assert states(created["dimensions"]) == {
        "income": ("not_ok", "INCOME_BELOW_LINE"),  # exactly on the line is not above it
        "food_clothing": ("not_ok", "FOOD_CLOTHING_INSECURE"),
        "water": ("unknown", "NOT_SURVEYED"),
    }

    unsurveyed = await create(client, admin, None)
    [created] = await event_data(registry_app, unsurveyed["id"], "registry.household.created")
    assert {f["reason"] for f in created["dimensions"].values()} == {"NO_SURVEY"}
    assert {f["as_of"] for f in created["dimensions"].values()} == {None}

    # A later survey through PATCH: the update carries the new facts and the new time.
    clock.advance(days=2)
    patched = await client.patch(
        f"/households/{on_line['id']}", json={"survey": surveyed("4000.00")}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    [updated] = await event_data(registry_app, on_line["id"], "registry.household.updated")
    assert states(updated["dimensions"]) == ALL_OK
    assert as_of(updated) == {clock.now()}

    # A member event's household snapshot carries them too (same rule, same line).
    clock.advance(days=1)
    member = {"name": "马小花", "relation": "child", "labour_capacity": "none"}
    member.update(gender="female", birth_date="2025-12-01")
    added = await client.post(f"/households/{above['id']}/members", json=member, headers=admin)
    assert added.status_code == 201, added.text
    [event] = await event_data(registry_app, above["id"], "registry.member.added")
    # income items absent: per-capita income stays as surveyed, so still above the line
    assert states(event["household"]["dimensions"]) == ALL_OK

    # A change that is not a survey keeps the survey's time.
    await client.patch(f"/households/{above['id']}", json={"group_no": 7}, headers=admin)
    [updated] = await event_data(registry_app, above["id"], "registry.household.updated")
    assert as_of(updated) == first_recorded
    # The survey of 2025 still counts in 2026; in 2027 it is out of date (older than a year).
    set_today(registry_app, dt.date(2027, 1, 5))
    await client.patch(f"/households/{above['id']}", json={"group_no": 8}, headers=admin)
    later = (await event_data(registry_app, above["id"], "registry.household.updated"))[-1]
    assert {f["reason"] for f in later["dimensions"].values()} == {"SURVEY_OUT_OF_DATE"}
    assert {f["status"] for f in later["dimensions"].values()} == {"unknown"}


async def test_a_county_poverty_line_override_changes_the_decision(client, registry_app, auth_keys):
    set_today(registry_app, TODAY)
    admin = auth_keys.headers("county_admin", COUNTY)
    before = await create(client, admin, surveyed("3500.00"))
    [created] = await event_data(registry_app, before["id"], "registry.household.created")
    assert created["dimensions"]["income"]["status"] == "ok"

    changed = await client.put(
        "/policy/poverty_line",
        json={"region_code": COUNTY, "year": 2025, "value": "3600.00", "reason": "县扶贫标准"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    after = await create(client, admin, surveyed("3500.00"))
    [created] = await event_data(registry_app, after["id"], "registry.household.created")
    assert states(created["dimensions"])["income"] == ("not_ok", "INCOME_BELOW_LINE")
    # the summary decides with the same rule and line (now for the first household, too)
    summary = (await client.get(f"/households/{before['id']}/summary", headers=admin)).json()
    assert summary["dimensions"]["income"]["status"] == "not_ok"
    # the line of the survey's year applies, not this year's: a lower line from 2026 on
    # leaves a 2025 survey under the 2025 line
    later = await client.put(
        "/policy/poverty_line",
        json={"region_code": COUNTY, "year": 2026, "value": "3400.00", "reason": "下年标准"},
        headers=admin,
    )
    assert later.status_code == 200, later.text
    old = await create(client, admin, surveyed("3500.00", year=2025))
    summary = (await client.get(f"/households/{old['id']}/summary", headers=admin)).json()
    assert summary["dimensions"]["income"]["reason"] == "INCOME_BELOW_LINE"  # 3500 ≤ 3600

    # The bulk import decides with the same line (one lookup for the whole file).
    rows = family("0001", 2) + family("0002", 2)
    rows[0]["人均纯收入"], rows[2]["人均纯收入"] = "3550.00", "3700.00"
    imported = await upload(client, as_csv(rows), admin)
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 2
    async with registry_app.state.runtime.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT envelope->'data'->>'per_capita_net_income', "
                "envelope->'data'->'dimensions' FROM outbox "
                "WHERE event_type = 'cn.jingzhun.registry.household.created.v1' "
                "AND envelope->'data'->>'identified_year' = '2016' "
                "AND aggregate_id NOT IN (:a, :b, :c)"
            ),
            {"a": before["id"], "b": after["id"], "c": old["id"]},
        )
        decided = {income: states(dims) for income, dims in found.all()}
    assert decided == {
        "3550.00": {
            "income": ("not_ok", "INCOME_BELOW_LINE"),
            "food_clothing": ("unknown", "NOT_SURVEYED"),
            "water": ("unknown", "NOT_SURVEYED"),
        },
        "3700.00": {
            "income": ("ok", None),
            "food_clothing": ("unknown", "NOT_SURVEYED"),
            "water": ("unknown", "NOT_SURVEYED"),
        },
    }


# --- regions -----------------------------------------------------------------------------


async def region_events(nats_url: str) -> list:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        if not info.state.messages:  # not yet published
            return []
        messages = [
            await js.get_msg("REGISTRY", seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
        return [m for m in messages if m.subject.startswith("registry.region.updated.")]
    finally:
        await nc.close()


async def test_region_events_once_per_change_and_none_on_a_no_op(client, registry_app, stack):
    # seeding wrote the test regions: one event each, version 1, subject = the region itself
    published = await eventually(
        lambda: region_events(stack.nats_url), until=lambda found: len(found) == 8
    )
    first = {parse(m.data).subject: m for m in published}
    village = parse(first[VILLAGE].data)
    assert first[VILLAGE].subject == "registry.region.updated.62.29.24.100.201"
    assert (village.sequence, village.region, village.type) == (
        1,
        VILLAGE,
        "cn.jingzhun.registry.region.updated.v1",
    )
    assert events.RegionUpdated.model_validate(village.data).parent_code == TOWNSHIP

    sessions = registry_app.state.runtime.sessionmaker
    async with sessions() as session:  # the same tree again: nothing changes, nothing is sent
        assert await upsert_regions(session, region_payloads()) == 0
        await session.commit()
    changed = [
        r.model_copy(update={"population": 1200, "key_poor_village": True})
        if r.code == OTHER_VILLAGE
        else r
        for r in region_payloads()
    ]
    async with sessions() as session:
        assert await upsert_regions(session, changed) == 1
        await session.commit()
    published = await eventually(
        lambda: region_events(stack.nats_url), until=lambda found: len(found) == 9
    )
    last = parse(published[-1].data)
    assert (last.subject, last.sequence) == (OTHER_VILLAGE, 2)
    assert (last.data["population"], last.data["key_poor_village"]) == (1200, True)
    async with registry_app.state.runtime.engine.connect() as conn:
        version = await conn.execute(
            text("SELECT version, population FROM regions WHERE code = :c"), {"c": OTHER_VILLAGE}
        )
        assert tuple(version.one()) == (2, 1200)

    # a rolled-back upsert leaves neither the row nor its event
    async with sessions() as session:
        renamed = [
            r.model_copy(update={"name": "改名村"}) if r.code == VILLAGE else r for r in changed
        ]
        assert await upsert_regions(session, renamed) == 1
        await session.rollback()
    async with registry_app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT count(*) FROM outbox "
                "WHERE event_type = 'cn.jingzhun.registry.region.updated.v1'"
            )
        )
        assert rows.scalar_one() == 9


# --- the summary endpoint ------------------------------------------------------------------


async def test_summary_states_dimensions_and_facts(client, registry_app, auth_keys):
    set_today(registry_app, TODAY)
    admin = auth_keys.headers("county_admin", COUNTY)
    household = await create(client, admin, surveyed("2800.50", water=None))
    hid = household["id"]
    primary = await new_helper(client, admin, "section_level", name="李科长")
    member = await new_helper(client, admin, "ordinary", name="王干部")
    since = (TODAY - dt.timedelta(days=60)).isoformat()
    assert (await assign(client, admin, hid, primary["id"], start_date=since)).status_code == 201
    helped = await assign(client, admin, hid, member["id"], role="member", start_date=since)
    assert helped.status_code == 201, helped.text
    for day in (TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=3), TODAY):
        assert (await visit(client, admin, hid, primary["id"], day)).status_code == 201
    alert = await client.post(
        "/alerts", json={"household_id": hid, "note": "走访发现", "evidence": [DOC]}, headers=admin
    )
    assert alert.status_code == 201, alert.text

    # any role that reads status may ask: here the dashboard (no registry:read at all)
    response = await client.get(
        f"/households/{hid}/summary", headers=auth_keys.headers("dashboard", COUNTY)
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["service"], summary["household_id"], summary["region_code"]) == (
        "registry",
        hid,
        VILLAGE,
    )
    assert states(summary["dimensions"]) == {
        "income": ("not_ok", "INCOME_BELOW_LINE"),
        "food_clothing": ("ok", None),
        "water": ("unknown", "NOT_SURVEYED"),
    }
    facts = summary["facts"]
    assert (facts["poverty_state"], facts["assistance_type"]) == ("registered", "general")
    assert facts["monitoring_category"] == "none"  # a manual alert has no category until 研判
    assert (facts["open_alerts"], facts["open_alert_kinds"]) == (1, ["manual"])
    assert facts["helpers"] == [
        {"name": "李科长", "role": "primary"},
        {"name": "王干部", "role": "member"},
    ]
    assert facts["visits_last_30_days"] == 2  # not the one 40 days ago
    assert "per_capita_net_income" not in str(summary)  # no income figure leaves this way

    # the same answer as the events: the rule is one function
    [created] = await event_data(registry_app, hid, "registry.household.created")
    assert states(created["dimensions"]) == states(summary["dimensions"])


async def test_summary_is_scoped_and_needs_status_read(client, registry_app, auth_keys):
    set_today(registry_app, TODAY)
    admin = auth_keys.headers("county_admin", COUNTY)
    hid = (await create(client, admin, surveyed("5000.00")))["id"]
    path = f"/households/{hid}/summary"

    outside = await client.get(path, headers=auth_keys.headers("village_cadre", OTHER_VILLAGE))
    assert outside.status_code == 404
    assert outside.headers["content-type"].startswith("application/problem+json")
    unknown = await client.get(f"/households/{uuid.uuid4()}/summary", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "NOT_FOUND"
    assert (await client.get(path)).status_code == 401
    no_scope = auth_keys.headers("county_admin", COUNTY, scopes=("registry:read",))
    assert (await client.get(path, headers=no_scope)).status_code == 403
    inside = await client.get(path, headers=auth_keys.headers("village_cadre", VILLAGE))
    assert inside.status_code == 200
    assert states(inside.json()["dimensions"]) == ALL_OK
