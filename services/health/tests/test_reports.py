"""Settlement reports computed from records, and the check of a reported total."""

from __future__ import annotations

from decimal import Decimal

from gateway_testdata import VILLAGE
from test_claims import claim, patient

TOWNSHIP = VILLAGE[:9] + "000"


async def test_the_settlement_report_counts_what_is_in_force(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)
    first = (await client.post("/claims", json=claim(person), headers=headers)).json()
    second = (await client.post("/claims", json=claim(person, "township"), headers=headers)).json()
    reversed_ = await client.post(
        f"/claims/{second['id']}/reversal", json={"reason": "重复录入"}, headers=headers
    )
    assert reversed_.status_code == 200
    county = auth_keys.headers("health_officer")  # the county bureau reads the township
    params = {"region": TOWNSHIP, "date_from": "2026-01-01", "date_to": "2026-12-31"}
    report = (await client.get("/reports/settlements", params=params, headers=county)).json()
    total = report["total"]
    assert total["settlements"] == 1 and total["patients"] == 1  # the reversed one is out
    assert Decimal(total["total"]) == Decimal("60000.00")
    assert Decimal(total["total_wan"]) == Decimal("6")
    payers = first["settlement"]["payers"]
    assert {k: Decimal(v) for k, v in total["payers"].items()} == {
        k: Decimal(v) for k, v in payers.items()
    }
    assert Decimal(total["payers_wan"]["bmi"]) == Decimal("3.885")
    # Σ 合规自付 ÷ Σ 合规费用: 2,572.50 of 56,000
    assert Decimal(total["compliant_personal_share"]) == Decimal("0.0459")
    assert [r["region_code"] for r in report["regions"]] == [VILLAGE]
    assert all(check["adds_up"] for check in report["checks"]) and len(report["checks"]) == 8
    assert report["special_treatment_patients"] == 0

    outside = {**params, "date_from": "2027-01-01", "date_to": "2027-12-31"}
    empty = (await client.get("/reports/settlements", params=outside, headers=county)).json()
    assert empty["total"]["settlements"] == 0 and empty["regions"] == []
    backwards = {**params, "date_to": "2025-01-01"}
    refused = await client.get("/reports/settlements", params=backwards, headers=county)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "query.date_to"
    above_own = await client.get("/reports/settlements", params=params, headers=headers)
    assert above_own.status_code == 403  # a village's officer asking for the township


async def test_a_reported_total_is_checked_against_its_parts(client, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    dialysis = {  # DOMAIN §11 #20: 49498 sessions × 100元 stated as 474万
        "stated": "474",
        "unit": "wan",
        "parts": [{"label": "透析补助", "count": 49498, "rate": "100"}],
    }
    answer = (await client.post("/reports/reconciliation", json=dialysis, headers=headers)).json()
    assert answer["adds_up"] is False
    assert Decimal(answer["computed"]) == Decimal("494.98")
    assert Decimal(answer["difference"]) == Decimal("20.98")
    premium = {"stated": "465740", "parts": [{"count": 2117, "rate": "220.00"}]}
    assert (await client.post("/reports/reconciliation", json=premium, headers=headers)).json()[
        "adds_up"
    ]
    bad = {"stated": "1", "parts": [{"amount": "1", "count": 1, "rate": "1"}]}
    refused = await client.post("/reports/reconciliation", json=bad, headers=headers)
    assert refused.status_code == 422


async def test_patients_under_special_treatment_are_counted(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)
    opened = await client.post(
        "/critical-cases",
        json={
            "person_id": person,
            "disease_code": "C16.9",
            "diagnosed_on": "2026-02-10",
            "designated_hospital": "广河县人民医院",
        },
        headers=headers,
    )
    params = {"region": VILLAGE, "date_from": "2026-01-01", "date_to": "2026-12-31"}

    async def counted():
        report = await client.get("/reports/settlements", params=params, headers=headers)
        return report.json()["special_treatment_patients"]

    assert await counted() == 0  # identified, not yet treated
    await client.post(
        f"/critical-cases/{opened.json()['id']}/transitions",
        json={"to": "treating", "on": "2026-02-12"},
        headers=headers,
    )
    assert await counted() == 1
