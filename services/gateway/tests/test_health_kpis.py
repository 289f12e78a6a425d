"""Health's KPIs in the region statistics: 参保率, 资助参保 and 自付比, moved by health's
enrolment and claim events, equal to a recount, and gone again when a rebuild replays."""

from __future__ import annotations

import uuid
from decimal import Decimal

from gateway_testdata import (
    VILLAGE,
    applied,
    counters,
    envelope,
    event,
    member,
    publish,
    publish_to,
)

from contracts.events import health
from contracts.events import registry as events

COUNTY = "622924000000"


def enrolment(hid, person, enrolment_id, sequence, *, status="active", subsidy="220.00"):
    payload = health.EnrolmentEvent(
        enrolment_id=enrolment_id,
        household_id=hid,
        person_id=person,
        region_code=VILLAGE,
        policy_year=2026,
        year=2026,
        status=status,
        premium="220.00",
        subsidy=subsidy,
        personal_premium=str(Decimal("220.00") - Decimal(subsidy)),
        subsidy_categories=["registered_poor"] if Decimal(subsidy) else [],
    )
    spec = {1: health.ENROLMENT_RECORDED, 2: health.ENROLMENT_UPDATED}.get(
        sequence, health.ENROLMENT_CANCELLED
    )
    return spec, envelope(spec, payload, subject=enrolment_id, sequence=sequence)


def settled(hid, person, claim_id, sequence):
    payload = health.ClaimSettled(
        claim_id=claim_id,
        household_id=hid,
        person_id=person,
        region_code=VILLAGE,
        policy_year=2026,
        settled_on="2026-03-20",
        total="60000.00",
        out_of_pocket="9600.00",  # 5,600 of the 56,000 compliant + 4,000 out of catalogue
        compliant="56000.00",
        kind="inpatient",
    )
    return envelope(health.CLAIM_SETTLED, payload, subject=claim_id, sequence=sequence)


async def test_health_kpis_follow_enrolments_and_claims(client, gateway_app, js, auth_keys):
    hid = uuid.uuid4()
    members = [member("马建国", "head"), member("马秀英", "spouse")]
    person, spouse = (m["member_id"] for m in members)
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1, members=members)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    first, second, claim = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for spec, body in (
        enrolment(hid, person, first, 1),
        enrolment(hid, spouse, second, 1),
        enrolment(hid, person, first, 2, subsidy="0.00"),  # left every category
    ):
        await publish_to(js, spec, body)
    await publish_to(js, health.CLAIM_SETTLED, settled(hid, person, claim, 1))
    await applied(gateway_app, 5)

    async def kpis():
        response = await client.get(f"/regions/{COUNTY}/stats", headers=auth_keys.headers())
        kpis = response.json()["kpis"]
        assert kpis["health.subsidy_total"].count(".") == 1  # 元 to the fen
        return {k: Decimal(v) for k, v in kpis.items()}

    assert await kpis() == {
        "health.insured": 2,
        "health.subsidised": 1,
        "health.subsidy_total": Decimal("220.00"),
        "health.settlements": 1,
        "health.participation_rate": Decimal("1.0000"),  # both members insured
        "health.compliant_personal_share": Decimal("0.1000"),
    }
    stored, recounted = await counters(gateway_app)
    assert stored == recounted

    spec, cancelled = enrolment(hid, spouse, second, 3, status="cancelled")
    await publish_to(js, spec, cancelled)
    reversal = health.ClaimReversed(
        claim_id=claim,
        household_id=hid,
        person_id=person,
        region_code=VILLAGE,
        policy_year=2026,
        reversed_on="2026-04-01",
        reason="费用录入错误",
        total="60000.00",
        out_of_pocket="9600.00",
        settlement_number=1,
    )
    await publish_to(
        js,
        health.CLAIM_REVERSED,
        envelope(health.CLAIM_REVERSED, reversal, subject=claim, sequence=2),
    )
    await applied(gateway_app, 7)
    after = await kpis()
    assert after["health.insured"] == 1 and after["health.subsidy_total"] == 0
    assert after["health.participation_rate"] == Decimal("0.5000")
    assert after["health.settlements"] == 0 and "health.compliant_personal_share" not in after
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
    other_year = await client.get(
        f"/regions/{COUNTY}/stats", params={"year": 2025}, headers=auth_keys.headers()
    )
    assert other_year.json()["kpis"] == {}
