"""Aid grants (教育资助, DOMAIN §3.2) through the API: paid within the programme's standard
with their event, refused (storing nothing) above it, to an ineligible student, or against
the policy's stacking; a one-off once ever; one payment reference once a programme."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from education_testdata import COUNTY
from sqlalchemy import text
from test_students import OTHER_TOWNSHIP, a_household, student_body

from contracts.events import education as education_events
from devstack.registry_payloads import VILLAGE

_references = iter(range(1, 1_000_000))


def grant_body(student_id: str, programme: str, amount: str, **fields) -> dict:
    """A payment of the 2026 school year's autumn term, with a new payment reference."""
    return {
        "student_id": student_id,
        "programme": programme,
        "school_year": 2026,
        "term": "autumn",
        "amount": amount,
        "paid_on": "2026-10-15",
        "payment_reference": f"GH-2026-{next(_references):05d}",
        **fields,
    }


async def a_student(client, app, officer, *, child_born="2016-05-01", household=None, **fields):
    """A registered student (a primary pupil unless ``fields`` say otherwise) of a new
    household (registered poor in VILLAGE unless ``household`` says otherwise)."""
    _, child = await a_household(
        app, "马建国", "马小军", child_born=child_born, **(household or {})
    )
    created = await client.post("/students", json=student_body(child, **fields), headers=officer)
    assert created.status_code == 201, created.text
    return created.json()


async def stored(app) -> tuple[int, int]:
    """How many grants, and how many events, are stored."""
    async with app.state.runtime.engine.connect() as conn:
        grants = (await conn.execute(text("SELECT count(*) FROM aid_grants"))).scalar_one()
        events = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    return grants, events


async def test_a_year_s_standard_is_paid_in_several_payments_and_no_more(
    client, education_app, auth_keys
):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer, boarding=True)
    autumn = grant_body(student["id"], "boarding_allowance", "500.00")
    paid = await client.post("/grants", json=autumn, headers=officer)
    assert paid.status_code == 201, paid.text
    grant = paid.json()
    assert (grant["stage"], grant["amount"], grant["person_id"]) == (
        "primary",
        "500.00",
        student["person_id"],
    )
    spring = grant_body(
        student["id"], "boarding_allowance", "500.00", term="spring", paid_on="2026-11-20"
    )
    assert (await client.post("/grants", json=spring, headers=officer)).status_code == 201

    # 1000元 a year for a primary boarder: one fen more is above the standard.
    before = await stored(education_app)
    above = await client.post(
        "/grants", json=grant_body(student["id"], "boarding_allowance", "0.01"), headers=officer
    )
    assert above.status_code == 422 and above.json()["code"] == "GRANT_ABOVE_STANDARD"
    assert "1000.00元" in above.json()["detail"] and "1000.00元 granted" in above.json()["detail"]
    assert await stored(education_app) == before  # nothing stored, no event
    # The next school year has a standard of its own.
    next_year = grant_body(student["id"], "boarding_allowance", "1000.00", school_year=2027)
    assert (await client.post("/grants", json=next_year, headers=officer)).status_code == 201

    async with education_app.state.runtime.engine.connect() as conn:
        event_type, envelope = (
            await conn.execute(
                text("SELECT event_type, envelope FROM outbox WHERE aggregate_id = :id"),
                {"id": grant["id"]},
            )
        ).one()
    assert event_type == education_events.AID_PAID.type
    data = envelope["data"]
    assert (data["programme"], data["amount"], data["school_year"], data["term"]) == (
        "boarding_allowance",
        "500.00",
        2026,
        "autumn",
    )
    assert (data["student_id"], data["policy_year"], envelope["sequence"]) == (
        student["id"],
        2026,
        1,
    )

    one = await client.get(f"/grants/{grant['id']}", headers=officer)
    assert one.status_code == 200 and one.json() == grant
    listed = await client.get(
        "/grants", params={"student_id": student["id"], "school_year": 2026}, headers=officer
    )
    assert listed.json()["total"] == 2
    springs = await client.get("/grants", params={"term": "spring"}, headers=officer)
    assert [g["term"] for g in springs.json()["items"]] == ["spring"]
    nutrition = await client.get("/grants", params={"programme": "nutrition"}, headers=officer)
    assert nutrition.json()["total"] == 0


async def test_an_ineligible_student_is_refused_and_nothing_is_stored(
    client, education_app, auth_keys
):
    officer = auth_keys.headers("education_officer", VILLAGE)
    not_poor = await a_student(
        client, education_app, officer, household={"poverty_state": "rejected"}
    )
    day_pupil = await a_student(client, education_app, officer)  # not a boarder
    # 脱贫不脱政策: an exited household keeps the aid until its continuity date …
    kept = await a_student(
        client,
        education_app,
        officer,
        household={"poverty_state": "exited", "policy_continuity_until": "2030-12-31"},
    )
    # … and loses it after.
    ended = await a_student(
        client,
        education_app,
        officer,
        household={"poverty_state": "exited", "policy_continuity_until": "2026-08-31"},
    )
    before = await stored(education_app)
    for student, programme, why in (
        (not_poor, "nutrition", "not registered poor"),
        (ended, "nutrition", "not registered poor"),
        (day_pupil, "boarding_allowance", "boarding students"),
        (day_pupil, "senior_high_grant", "not for the primary stage"),
    ):
        refused = await client.post(
            "/grants", json=grant_body(student["id"], programme, "100.00"), headers=officer
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "NOT_ELIGIBLE" and why in refused.json()["detail"]
    assert await stored(education_app) == before
    paid = await client.post(
        "/grants", json=grant_body(kept["id"], "nutrition", "800.00"), headers=officer
    )
    assert paid.status_code == 201, paid.text


async def test_programmes_stack_unless_the_policy_says_not(client, education_app, auth_keys):
    officer = auth_keys.headers("education_officer", VILLAGE)
    vocational = await a_student(
        client, education_app, officer, stage="secondary_vocational", grade=1
    )
    # A 中职 student receives the fee waiver, the grant and the one-off (叠加).
    for programme, amount in (
        ("vocational_fee_waiver", "1500.00"),
        ("vocational_grant", "2000.00"),
        ("vocational_one_off", "3000.00"),
    ):
        body = grant_body(vocational["id"], programme, amount)
        paid = await client.post("/grants", json=body, headers=officer)
        assert paid.status_code == 201, paid.text

    admin = auth_keys.headers("county_admin", COUNTY)
    changed = await client.put(
        "/policy/aid.not_stacking",
        json={
            "region_code": COUNTY,
            "year": 2026,
            "value": [["senior_high_grant", "charity_school"]],
            "reason": "县教育局文件",
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    senior = await a_student(client, education_app, officer, stage="senior_high", grade=1)
    first = grant_body(senior["id"], "senior_high_grant", "1000.00")
    assert (await client.post("/grants", json=first, headers=officer)).status_code == 201
    before = await stored(education_app)
    charity = grant_body(senior["id"], "charity_school", "600.00")
    refused = await client.post("/grants", json=charity, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "GRANTS_DO_NOT_STACK"
    assert await stored(education_app) == before
    # The fee waiver is not named: it stacks.
    waiver = grant_body(senior["id"], "senior_high_fee_waiver", "1600.00")
    assert (await client.post("/grants", json=waiver, headers=officer)).status_code == 201


async def test_a_one_off_is_paid_once_ever(client, education_app, auth_keys):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer, stage="higher_vocational", grade=1)
    body = grant_body(student["id"], "vocational_one_off", "3000.00", school_year=2025)
    assert (await client.post("/grants", json=body, headers=officer)).status_code == 201
    again = grant_body(student["id"], "vocational_one_off", "3000.00")  # the next school year
    refused = await client.post("/grants", json=again, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "GRANT_ABOVE_STANDARD"
    assert "once" in refused.json()["detail"]
    # 雨露计划 is a year's: paid in each.
    for year in (2025, 2026):
        yulu = grant_body(student["id"], "yulu", "3000.00", school_year=year)
        assert (await client.post("/grants", json=yulu, headers=officer)).status_code == 201


async def test_the_university_charity_needs_a_hardship_student(client, education_app, auth_keys):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(
        client, education_app, officer, child_born="2007-05-01", stage="university", grade=1
    )
    body = grant_body(student["id"], "charity_university_entry", "5000.00")
    refused = await client.post("/grants", json=body, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "NOT_ELIGIBLE"
    assert "特困生" in refused.json()["detail"]

    url = f"/students/{student['id']}"
    determined = {"hardship_evidence": "孤儿认定 广民发〔2026〕12号"}
    changed = await client.patch(url, json=determined, headers=officer)
    assert changed.status_code == 200 and changed.json()["hardship_evidence"]
    assert (await client.post("/grants", json=body, headers=officer)).status_code == 201
    # Another change keeps it; an explicit null ends it.
    kept = await client.patch(url, json={"grade": 2}, headers=officer)
    assert kept.json()["hardship_evidence"] == determined["hardship_evidence"]
    ended = await client.patch(url, json={"hardship_evidence": None}, headers=officer)
    assert ended.status_code == 200 and ended.json()["hardship_evidence"] is None
    yearly = grant_body(student["id"], "charity_university_yearly", "1000.00")
    refused = await client.post("/grants", json=yearly, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "NOT_ELIGIBLE"


async def test_a_payment_reference_pays_once_a_programme(client, education_app, auth_keys):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer, boarding=True)
    body = grant_body(student["id"], "boarding_allowance", "300.00")
    assert (await client.post("/grants", json=body, headers=officer)).status_code == 201
    again = await client.post("/grants", json=body, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "GRANT_REFERENCE_TAKEN"
    other = {**body, "programme": "nutrition"}  # another programme's voucher numbering
    assert (await client.post("/grants", json=other, headers=officer)).status_code == 201


async def test_concurrent_payments_do_not_pass_the_standard_together(
    client, education_app, auth_keys
):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer, boarding=True)
    bodies = [grant_body(student["id"], "boarding_allowance", "1000.00") for _ in range(5)]
    answers = await asyncio.gather(
        *(client.post("/grants", json=b, headers=officer) for b in bodies)
    )
    assert sorted(a.status_code for a in answers) == [201, 422, 422, 422, 422]
    assert {a.json()["code"] for a in answers if a.status_code == 422} == {"GRANT_ABOVE_STANDARD"}
    async with education_app.state.runtime.engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(amount) FROM aid_grants"))).scalar_one()
    assert total == Decimal("1000.00")


async def test_grants_are_seen_and_paid_in_the_caller_s_region_only(
    client, education_app, auth_keys
):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer)
    grant = (
        await client.post(
            "/grants", json=grant_body(student["id"], "nutrition", "400.00"), headers=officer
        )
    ).json()
    elsewhere = auth_keys.headers("education_officer", OTHER_TOWNSHIP)
    body = grant_body(student["id"], "nutrition", "400.00")
    refused = await client.post("/grants", json=body, headers=elsewhere)
    assert refused.status_code == 422 and refused.json()["code"] == "UNKNOWN_STUDENT"
    assert (await client.get(f"/grants/{grant['id']}", headers=elsewhere)).status_code == 404
    assert (await client.get("/grants", headers=elsewhere)).json()["total"] == 0
    county = auth_keys.headers("education_officer", COUNTY)
    assert (await client.get("/grants", headers=county)).json()["total"] == 1
    outside = await client.get("/grants", params={"region": COUNTY}, headers=elsewhere)
    assert outside.status_code == 403


async def test_bad_grants_are_a_clear_4xx(client, education_app, auth_keys):
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_student(client, education_app, officer)
    for bad, field in (
        ({"amount": "0"}, "body.amount"),
        ({"amount": "1.001"}, "body.amount"),
        ({"programme": "bicycle"}, "body.programme"),
        ({"term": "summer"}, "body.term"),
        ({"payment_reference": " "}, "body.payment_reference"),
    ):
        body = {**grant_body(student["id"], "nutrition", "100.00"), **bad}
        response = await client.post("/grants", json=body, headers=officer)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == field
    future = grant_body(student["id"], "nutrition", "100.00", paid_on="2099-01-01")
    assert (await client.post("/grants", json=future, headers=officer)).status_code == 422
    reader = auth_keys.headers("county_admin", COUNTY, scopes=("education:read",))
    body = grant_body(student["id"], "nutrition", "100.00")
    assert (await client.post("/grants", json=body, headers=reader)).status_code == 403
