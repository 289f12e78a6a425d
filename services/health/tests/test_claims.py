"""Claims through the API: one-stop settlement, caps, reversal and re-settlement, and bad
claims refused with nothing stored."""

from __future__ import annotations

import uuid
from decimal import Decimal

from gateway_testdata import VILLAGE, event, member, publish
from sqlalchemy import text

from contracts.events import registry as registry_events
from devstack.testing import eventually

YEAR = 2026


async def patient(client, js, auth_keys, *, poverty_state="registered", enrol=True) -> str:
    """A projected household's head, insured for the year (or not)."""
    hid = uuid.uuid4()
    head = member("马建国", "head")
    _, created = event(
        registry_events.HOUSEHOLD_CREATED, hid, 1, members=[head], poverty_state=poverty_state
    )
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    headers = auth_keys.headers("health_officer", VILLAGE)
    if enrol:
        await eventually(
            lambda: client.post(
                f"/households/{hid}/enrolments", json={"year": YEAR}, headers=headers
            ),
            until=lambda r: r.status_code == 201,
        )
    else:
        await eventually(
            lambda: client.get(
                "/reports/participation", params={"year": YEAR, "region": VILLAGE}, headers=headers
            ),
            until=lambda r: r.json()["total"]["persons"] >= 1,
        )
    return str(head["member_id"])


def claim(person_id: str, level: str = "county", **overrides) -> dict:
    """DOMAIN §4.2's claim: 56,000 compliant and 4,000 out of the catalogue (consent signed)."""
    body = dict(
        claim_no=f"ZY-{uuid.uuid4().hex[:12]}",
        person_id=person_id,
        kind="inpatient",
        hospital_name="广河县人民医院",
        hospital_level=level,
        diagnosis_code="C16.9",
        diagnosis_name="胃癌",
        admitted_on=f"{YEAR}-03-01",
        discharged_on=f"{YEAR}-03-20",
        lines=[
            dict(item="手术费", amount="50000.00"),
            dict(item="药品费", amount="6000.00"),
            dict(item="进口耗材", amount="4000.00", in_catalogue=False, consent_signed=True),
        ],
    )
    return {**body, **overrides}


def payers(response) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in response.json()["settlement"]["payers"].items()}


async def test_a_poor_inpatient_pays_at_most_the_capped_share(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)
    county = await client.post("/claims", json=claim(person), headers=headers)
    assert county.status_code == 201, county.text
    parts = payers(county)
    # Default terms: BMI (56000 − 500) × 0.70; CII half the rest; MA 0.70 of what is left
    assert parts["bmi"] == Decimal("38850.00") and parts["cii"] == Decimal("8575.00")
    assert parts["ma"] == Decimal("6002.50")
    assert parts["personal"] == Decimal("2572.50") + Decimal("4000.00")  # below the 5,600 cap
    assert sum(parts.values()) == Decimal("60000.00")
    settlement = county.json()["settlement"]
    assert settlement["terms"]["group"] == "aided" and settlement["terms"]["insured"] is True

    # MA has 10,000 a year: 3,997.50 is left for the second claim, nothing for the third.
    second = await client.post("/claims", json=claim(person), headers=headers)
    assert payers(second)["ma"] == Decimal("3997.50")
    assert payers(second)["supplementary"] == Decimal("0.00")  # 4,577.50 is below the cap
    # (The township claim finds 33,450 left of BMI's 150,000: it pays that, not 50,310.)
    for level, cap, other in (("county", "5600.00", "2975.00"), ("township", "2800.00", "8475.00")):
        response = await client.post("/claims", json=claim(person, level), headers=headers)
        parts = payers(response)
        assert parts["ma"] == Decimal("0.00")
        # 10% (county) or 5% (township) of the 56,000 compliant: 补充保险 pays what is above
        assert Decimal(response.json()["settlement"]["compliant_personal"]) == Decimal(cap)
        assert parts["supplementary"] == Decimal(other) and parts["county_fund"] == 0
        assert parts["personal"] == Decimal(cap) + Decimal("4000.00")
        assert sum(parts.values()) == Decimal("60000.00")
        assert response.json()["settlement"]["warnings"]  # 实际自付比 above its target


async def test_a_patient_not_registered_poor_is_not_capped(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys, poverty_state="rejected")
    response = await client.post("/claims", json=claim(person), headers=headers)
    parts = payers(response)
    assert response.json()["settlement"]["terms"]["group"] == "general"
    assert parts["ma"] == parts["supplementary"] == parts["county_fund"] == Decimal("0.00")
    compliant_personal = Decimal(response.json()["settlement"]["compliant_personal"])
    assert compliant_personal / Decimal("56000.00") > Decimal("0.10")


async def test_reversal_restores_the_caps_and_the_claim_settles_again(
    client, js, auth_keys, health_app
):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)
    first = await client.post("/claims", json=claim(person), headers=headers)
    claim_id = first.json()["id"]
    second = await client.post("/claims", json=claim(person), headers=headers)
    assert payers(second)["ma"] == Decimal("3997.50")  # the first used 6,002.50 of 10,000

    again = await client.post(f"/claims/{claim_id}/settlement", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_SETTLED"
    no_reason = await client.post(f"/claims/{claim_id}/reversal", json={}, headers=headers)
    assert no_reason.status_code == 422
    reversed_ = await client.post(
        f"/claims/{claim_id}/reversal", json={"reason": "费用录入错误"}, headers=headers
    )
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    twice = await client.post(
        f"/claims/{claim_id}/reversal", json={"reason": "again"}, headers=headers
    )
    assert twice.status_code == 409

    resettled = await client.post(f"/claims/{claim_id}/settlement", headers=headers)
    assert resettled.status_code == 200, resettled.text
    body = resettled.json()
    assert body["status"] == "settled" and [s["number"] for s in body["history"]] == [1, 2]
    assert body["history"][0]["reversal_reason"] == "费用录入错误"
    # Settled after the second claim: MA has 3,997.50 − 3,997.50 = 0 left … after giving
    # back the 6,002.50 the first settlement used, it has exactly 6,002.50 again.
    assert payers(resettled)["ma"] == Decimal("6002.50")
    async with health_app.state.runtime.engine.connect() as conn:
        ledger = (
            await conn.execute(
                text("SELECT ma, settlements FROM benefit_ledger WHERE person_id = :p"),
                {"p": person},
            )
        ).one()
    assert ledger == (Decimal("10000.00"), 2)


async def test_bad_claims_are_refused_and_nothing_is_stored(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)
    good = claim(person)
    no_consent = claim(person)
    no_consent["lines"][2]["consent_signed"] = False
    negative = claim(person)
    negative["lines"][0]["amount"] = "-1.00"
    cases = [
        (no_consent, 422, "body.lines[2].consent_signed"),
        (negative, 422, "body.lines.0.amount"),
        (claim(person, "village_clinic"), 422, "body.hospital_level"),
        (claim(person, discharged_on=f"{YEAR}-02-01"), 422, "body.admitted_on"),
        (claim(str(uuid.uuid4())), 422, "body.person_id"),
        (claim(person, deposit="500.00"), 422, "body.deposit"),
        (claim(person, lines=[]), 422, "body.lines"),
    ]
    for body, status, field in cases:
        response = await client.post("/claims", json=body, headers=headers)
        assert response.status_code == status, (field, response.text)
        assert response.json()["errors"][0]["field"] == field, response.json()
    assert (await client.post("/claims", json=good, headers=headers)).status_code == 201
    duplicate = await client.post("/claims", json=good, headers=headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "DUPLICATE_CLAIM"
    async with health_app.state.runtime.engine.connect() as conn:
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM claims), (SELECT count(*) FROM settlements),"
                    " (SELECT settlements FROM benefit_ledger)"
                )
            )
        ).one()
    assert counts == (1, 1, 1)


async def test_an_uninsured_patient_gets_no_insurance_and_a_warning(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys, enrol=False)
    response = await client.post("/claims", json=claim(person), headers=headers)
    parts = payers(response)
    assert parts["bmi"] == parts["cii"] == Decimal("0.00")
    assert "not insured" in response.json()["settlement"]["warnings"][0]
    assert sum(parts.values()) == Decimal("60000.00")
