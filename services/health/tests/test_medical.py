"""基本医疗有保障: the rule, the summary the gateway asks, and the event when it changes."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway_testdata import VILLAGE, event, member, publish
from sqlalchemy import text
from test_chronic import certificate
from test_doctors import contract

from contracts.events import registry as registry_events
from contracts.status import DimensionState, Reason
from devstack.testing import eventually
from health.medical.dimension import MedicalCounts, medical_fact
from kit.clock import FixedClock

NOW = dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)


def test_the_rule_names_the_first_thing_missing_and_counts_each():
    assert medical_fact(MedicalCounts(2026, 0, 0), NOW).status == DimensionState.unknown
    assert medical_fact(MedicalCounts(2026, 3, 0), NOW).status == DimensionState.ok
    fact = medical_fact(MedicalCounts(2026, 4, 1, critical_untreated=1), NOW)
    assert fact.status == DimensionState.not_ok and fact.reason == Reason.NOT_INSURED
    assert fact.detail == (
        "1 of 4 members not insured for 2026; 1 critical illness case(s) not under treatment"
    )
    fact = medical_fact(MedicalCounts(2026, 4, 0, chronic_without_doctor=2), NOW)
    assert fact.reason == Reason.CHRONIC_WITHOUT_FAMILY_DOCTOR


async def test_the_dimension_follows_enrolment(client, js, auth_keys, health_app):
    health_app.state.clock = FixedClock(dt.date(2026, 11, 22))
    hid = uuid.uuid4()
    members = [member("马建国", "head"), member("马秀英", "spouse")]
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members)
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    status = auth_keys.headers("dashboard", VILLAGE)
    summary = await eventually(
        lambda: client.get(f"/households/{hid}/summary", headers=status),
        until=lambda r: r.status_code == 200,
    )
    medical = summary.json()["dimensions"]["medical"]
    assert medical["status"] == "not_ok" and medical["reason"] == "NOT_INSURED"
    assert medical["detail"] == "2 of 2 members not insured for 2026"

    officer = auth_keys.headers("health_officer", VILLAGE)
    head = members[0]["member_id"]
    one = await client.post(
        "/enrolments", json={"person_id": str(head), "year": 2026}, headers=officer
    )
    assert one.status_code == 201
    both = await client.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=officer)
    assert both.status_code == 201 and len(both.json()) == 1
    summary = await client.get(f"/households/{hid}/summary", headers=status)
    assert summary.json()["dimensions"]["medical"]["status"] == "ok"
    assert summary.json()["facts"] == {"members": 2, "insured": 2}

    async with health_app.state.runtime.engine.connect() as conn:
        published = (
            await conn.execute(
                text(
                    "SELECT envelope->'sequence', envelope->'data'->'medical'->>'detail' "
                    "FROM outbox WHERE event_type LIKE '%medical_assessed%' ORDER BY position"
                )
            )
        ).all()
    # created (none insured), one insured, both insured: each change once, in order
    assert published == [
        (1, "2 of 2 members not insured for 2026"),
        (2, "1 of 2 members not insured for 2026"),
        (3, None),
    ]
    hidden = await client.get(
        f"/households/{hid}/summary", headers=auth_keys.headers("dashboard", "622924101201")
    )
    assert hidden.status_code == 404


async def test_an_identified_critical_case_needs_treatment(client, js, auth_keys, health_app):
    health_app.state.clock = FixedClock(dt.date(2026, 11, 22))
    hid = uuid.uuid4()
    members = [member("马建国", "head")]
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members)
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    officer = auth_keys.headers("health_officer", VILLAGE)
    await eventually(
        lambda: client.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=officer),
        until=lambda r: r.status_code == 201,
    )
    opened = await client.post(
        "/critical-cases",
        json={
            "person_id": str(members[0]["member_id"]),
            "disease_code": "C16.9",
            "diagnosed_on": "2026-10-01",
            "designated_hospital": "广河县人民医院",
        },
        headers=officer,
    )
    assert opened.status_code == 201, opened.text

    async def medical():
        summary = await client.get(f"/households/{hid}/summary", headers=officer)
        return summary.json()["dimensions"]["medical"]

    identified = await medical()
    assert identified["status"] == "not_ok"
    assert identified["reason"] == "CRITICAL_ILLNESS_UNTREATED"
    treating = await client.post(
        f"/critical-cases/{opened.json()['id']}/transitions",
        json={"to": "treating", "on": "2026-10-03"},
        headers=officer,
    )
    assert treating.status_code == 200, treating.text
    assert (await medical())["status"] == "ok"


async def test_a_chronic_patient_needs_a_family_doctor(client, js, auth_keys, health_app):
    health_app.state.clock = FixedClock(dt.date(2026, 11, 22))
    hid = uuid.uuid4()
    members = [member("马建国", "head")]
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members)
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    officer = auth_keys.headers("health_officer", VILLAGE)
    await eventually(
        lambda: client.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=officer),
        until=lambda r: r.status_code == 201,
    )
    person = str(members[0]["member_id"])

    async def medical():
        summary = await client.get(f"/households/{hid}/summary", headers=officer)
        return summary.json()["dimensions"]["medical"]

    issued = await client.post("/chronic-certificates", json=certificate(person), headers=officer)
    assert issued.status_code == 201, issued.text
    without = await medical()
    assert without["reason"] == "CHRONIC_WITHOUT_FAMILY_DOCTOR"
    assert without["detail"] == "1 chronic patient(s) without a family doctor"
    signed = await client.post("/doctor-contracts", json=contract(person), headers=officer)
    assert signed.status_code == 201, signed.text
    assert (await medical())["status"] == "ok"
