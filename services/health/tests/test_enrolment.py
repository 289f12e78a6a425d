"""Enrolment and the premium subsidy, driven by the registry's events over the real bus."""

from __future__ import annotations

import uuid
from decimal import Decimal

from gateway_testdata import VILLAGE, event, member, publish

from contracts.events import registry as registry_events
from devstack.testing import eventually


async def projected_household(client, js, auth_keys, **snapshot) -> tuple[uuid.UUID, list[dict]]:
    hid = uuid.uuid4()
    members = [member("马建国", "head"), member("马秀英", "spouse", disability_level=1)]
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members, **snapshot)
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    headers = auth_keys.headers("health_officer", VILLAGE)
    await eventually(
        lambda: client.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=headers),
        until=lambda r: r.status_code == 201,
    )
    return hid, members


async def test_the_subsidy_follows_the_registry(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    hid, members = await projected_household(client, js, auth_keys, poverty_state="registered")
    report = (
        await client.get(
            "/reports/participation", params={"year": 2026, "region": VILLAGE}, headers=headers
        )
    ).json()
    assert report["total"]["persons"] == 2 and report["total"]["enrolled"] == 2
    assert report["total"]["participation_rate"] == 1.0
    assert Decimal(report["total"]["subsidy_total"]) == Decimal("440.00")

    # The household leaves every category: the head pays, the severely disabled wife not.
    _, rejected = event(
        registry_events.HOUSEHOLD_UPDATED,
        hid,
        2,
        members=members,
        poverty_state="rejected",
        changed=["poverty_state"],
    )
    await publish(js, registry_events.HOUSEHOLD_UPDATED, rejected)

    async def subsidy_total():
        response = await client.get(
            "/reports/participation", params={"year": 2026, "region": VILLAGE}, headers=headers
        )
        return Decimal(response.json()["total"]["subsidy_total"])

    await eventually(subsidy_total, until=lambda total: total == Decimal("220.00"))


async def test_enrolment_rules(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    hid, members = await projected_household(client, js, auth_keys, poverty_state="registered")
    head = members[0]["member_id"]
    again = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 2026}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_ENROLLED"
    unknown = await client.post(
        "/enrolments", json={"person_id": str(uuid.uuid4()), "year": 2026}, headers=headers
    )
    assert unknown.status_code == 404
    bad_year = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 1800}, headers=headers
    )
    assert bad_year.status_code == 422 and bad_year.json()["errors"][0]["field"] == "body.year"
    other_township = auth_keys.headers("health_officer", "622924101201")
    hidden = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 2027}, headers=other_township
    )
    assert hidden.status_code == 404
    enrolled = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 2027}, headers=headers
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["subsidy_categories"] == ["registered_poor"] and body["personal_premium"] == "0.00"
    cancelled = await client.post(
        f"/enrolments/{body['id']}/cancellation", json={"reason": "迁出"}, headers=headers
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 2027}, headers=headers
    )
    assert again.status_code == 201  # a cancelled enrolment may be followed by another


async def test_the_subsidy_switches_on_when_the_registry_registers_the_household(
    client, js, auth_keys
):
    headers = auth_keys.headers("health_officer", VILLAGE)
    hid = uuid.uuid4()
    members = [member("马建国", "head")]
    _, surveyed = event(
        registry_events.HOUSEHOLD_CREATED, hid, 1, members=members, poverty_state="surveyed"
    )
    await publish(js, registry_events.HOUSEHOLD_CREATED, surveyed)
    enrolled = await eventually(
        lambda: client.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=headers),
        until=lambda r: r.status_code == 201,
    )
    [enrolment] = enrolled.json()
    assert enrolment["subsidy_categories"] == [] and enrolment["personal_premium"] == "220.00"

    _, registered = event(
        registry_events.HOUSEHOLD_STATE_CHANGED,
        hid,
        2,
        members=members,
        poverty_state="registered",
        action="register",
        from_state="publicised",
        from_stage=None,
        on_date="2026-06-01",
    )
    await publish(js, registry_events.HOUSEHOLD_STATE_CHANGED, registered)

    async def current():
        response = await client.get(f"/enrolments/{enrolment['id']}", headers=headers)
        return response.json()

    switched = await eventually(current, until=lambda e: e["subsidy"] == "220.00")
    assert switched["subsidy_categories"] == ["registered_poor"]
    assert switched["personal_premium"] == "0.00"
