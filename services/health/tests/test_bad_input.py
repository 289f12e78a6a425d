"""Bad input is a 422 naming the field, with nothing stored: dates outside the policy
years, amounts whose sums cannot be stored, control characters, blank reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from gateway_testdata import VILLAGE
from sqlalchemy import text
from test_chronic import certificate
from test_claims import claim
from test_doctors import YEAR, at, contract, household

from contracts.money import MAX_ENTERED_AMOUNT

OUT_OF_BOUNDS = ["1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31", 0]


async def stored(health_app, table: str) -> int:
    async with health_app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


def fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize("bad", OUT_OF_BOUNDS)
async def test_dates_outside_the_policy_years_are_refused(client, js, auth_keys, health_app, bad):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    cases = [
        ("/dialysis-patients", {"person_id": person, "started_on": bad, "facility": "县医院"}),
        ("/chronic-certificates", certificate(person, issued_on=bad)),
        ("/doctor-contracts", contract(person, signed_on=bad)),
        ("/claims", claim(person, admitted_on=bad)),
    ]
    for url, body in cases:
        response = await client.post(url, json=body, headers=headers)
        field = next(k for k, v in body.items() if v == bad)
        assert f"body.{field}" in fields(response), (url, response.text)
    for table in ("dialysis_patients", "chronic_certificates", "doctor_contracts", "claims"):
        assert await stored(health_app, table) == 0
    year = await client.get(
        "/reports/dialysis", params={"year": bad, "region": VILLAGE}, headers=headers
    )
    assert year.status_code == 422


async def test_amounts_are_bounded_and_so_are_their_sums(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    huge = claim(person, lines=[dict(item="手术费", amount="999999999999.99")] * 2)
    assert fields(await client.post("/claims", json=huge, headers=headers)) == {
        "body.lines.0.amount",
        "body.lines.1.amount",
    }

    def largest() -> dict:
        return claim(person, lines=[dict(item="手术费", amount=str(MAX_ENTERED_AMOUNT))] * 3)

    first = await client.post("/claims", json=largest(), headers=headers)
    assert first.status_code == 201, first.text
    # The patient's year ledger is NUMERIC(14,2) too: bring it near its end.
    async with health_app.state.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE benefit_ledger SET personal = 999999999000.00"))
    second = await client.post("/claims", json=largest(), headers=headers)
    assert fields(second) == {"body.lines"} and second.json()["code"] == "YEAR_TOTAL_TOO_LARGE"
    assert "personal total" in second.json()["detail"]
    assert await stored(health_app, "claims") == 1 and await stored(health_app, "settlements") == 1
    # a reversal gives the amounts back; settling again cannot pass the end either
    claim_id = first.json()["id"]
    reversed_ = await client.post(
        f"/claims/{claim_id}/reversal", json={"reason": "录入错误"}, headers=headers
    )
    assert reversed_.status_code == 200, reversed_.text
    async with health_app.state.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE benefit_ledger SET personal = 999999999000.00"))
    again = await client.post(f"/claims/{claim_id}/settlement", headers=headers)
    assert again.status_code == 422 and again.json()["code"] == "YEAR_TOTAL_TOO_LARGE"
    assert await stored(health_app, "settlements") == 1


async def test_control_characters_and_blank_reasons(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    listed = await client.get("/critical-cases?disease=a%00b", headers=headers)
    assert fields(listed) == {"query.disease"}
    nul = await client.post(
        "/claims", json=claim(person, hospital_name="县\x00医院"), headers=headers
    )
    assert fields(nul) == {"body.hospital_name"}
    assert await stored(health_app, "claims") == 0
    created = await client.post("/claims", json=claim(person), headers=headers)
    blank = await client.post(
        f"/claims/{created.json()['id']}/reversal", json={"reason": "   "}, headers=headers
    )
    assert fields(blank) == {"body.reason"}
