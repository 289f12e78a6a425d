"""大病专项救治 through the API: the versioned list, the case ledger and its workflow, the
events, 救治率, and the effect of an open case on settlement."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from gateway_testdata import OTHER_TOWNSHIP_VILLAGE, VILLAGE
from sqlalchemy import text
from test_claims import YEAR, claim, patient, payers

COUNTY = VILLAGE[:6] + "000000"
HOSPITAL = "广河县人民医院"


def case(person: str, code: str = "C16.9", **overrides) -> dict:
    body = dict(
        person_id=person,
        disease_code=code,
        diagnosed_on=f"{YEAR}-02-10",
        designated_hospital=HOSPITAL,
    )
    return {**body, **overrides}


async def in_force(client, headers, on: str, region: str = VILLAGE) -> dict:
    response = await client.get(
        "/critical-diseases", params={"on": on, "region": region}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def outbox_rows(app, event_type: str, aggregate_id: str) -> list[dict]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope FROM outbox WHERE event_type LIKE :t AND aggregate_id = :a"
                " ORDER BY created_at"
            ),
            {"t": f"%{event_type}%", "a": aggregate_id},
        )
        return [
            r.envelope if isinstance(r.envelope, dict) else json.loads(r.envelope) for r in rows
        ]


async def test_the_list_in_force_by_date_and_region(client, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)
    # boundary days are inclusive: 21种 until 2019-12-31, 25种 from 2020-01-01
    for on, name, kinds in (
        ("2017-01-01", "21种", 21),
        ("2019-12-31", "21种", 21),
        ("2020-01-01", "25种", 25),
        (f"{YEAR}-06-01", "25种", 25),
    ):
        body = await in_force(client, headers, on)
        assert body["versions"] == [name] and body["kinds"] == kinds, (on, body["versions"])
    assert (await in_force(client, headers, "2016-12-31"))["kinds"] == 0
    codes = {d["code"] for d in (await in_force(client, headers, "2020-01-01"))["diseases"]}
    assert {"A15", "I63", "J44", "B20", "C16"} <= codes
    assert "A15" not in {
        d["code"] for d in (await in_force(client, headers, "2019-12-31"))["diseases"]
    }

    # The seeded provincial addition applies in 江西, not here.
    jiangxi = auth_keys.headers("health_officer", "360121103201")
    body = await in_force(client, jiangxi, "2021-05-01", "360121103201")
    assert body["versions"] == ["25种", "江西省新增5种"] and body["kinds"] == 30
    outside = await client.get(
        "/critical-diseases", params={"region": "360121103201"}, headers=headers
    )
    assert outside.status_code == 403

    # The county adds kinds for a year; its villages see them, another county does not.
    admin = auth_keys.headers("county_admin", COUNTY)
    added = await client.post(
        "/critical-diseases/versions",
        json={
            "name": "广河县新增2种",
            "region_code": COUNTY,
            "valid_from": "2021-01-01",
            "valid_to": "2021-12-31",
            "diseases": [{"code": "C22", "name": "肝癌"}, {"code": "C40", "name": "骨肉瘤"}],
        },
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert (await in_force(client, headers, "2021-12-31"))["kinds"] == 27
    assert (await in_force(client, headers, "2022-01-01"))["kinds"] == 25
    versions = await client.get("/critical-diseases/versions", headers=headers)
    assert [v["name"] for v in versions.json()].count("广河县新增2种") == 1
    assert len(versions.json()) == 4

    # The same region may not have two versions in force on one day …
    overlapping = await client.post(
        "/critical-diseases/versions",
        json={
            "name": "广河县新增1种",
            "region_code": COUNTY,
            "valid_from": "2021-12-31",
            "diseases": [{"code": "C22", "name": "肝癌"}],
        },
        headers=admin,
    )
    assert overlapping.status_code == 409 and overlapping.json()["code"] == "VERSION_OVERLAP"
    # … but the day after is free; a code twice in a version and bad dates are refused.
    duplicate = {
        "name": "广河县新增",
        "region_code": COUNTY,
        "valid_from": "2022-01-01",
        "diseases": [{"code": "C22", "name": "肝癌"}, {"code": "C22", "name": "肝癌"}],
    }
    refused = await client.post("/critical-diseases/versions", json=duplicate, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "DUPLICATE_CODE"
    assert refused.json()["errors"][0]["field"] == "body.diseases.1.code"
    backwards = {**duplicate, "diseases": duplicate["diseases"][:1], "valid_to": "2021-06-01"}
    assert (
        await client.post("/critical-diseases/versions", json=backwards, headers=admin)
    ).status_code == 422
    # only `policy:write` adds versions
    assert (
        await client.post(
            "/critical-diseases/versions",
            json={**duplicate, "diseases": duplicate["diseases"][:1]},
            headers=headers,
        )
    ).status_code == 403
    fine = await client.post(
        "/critical-diseases/versions",
        json={**duplicate, "diseases": duplicate["diseases"][:1]},
        headers=admin,
    )
    assert fine.status_code == 201, fine.text
    assert len((await client.get("/critical-diseases/versions", headers=headers)).json()) == 5


async def test_the_case_workflow_and_its_events(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)

    not_listed = await client.post("/critical-cases", json=case(person, "K35.8"), headers=headers)
    assert not_listed.status_code == 422
    assert not_listed.json()["code"] == "NOT_ON_CRITICAL_LIST"
    assert not_listed.json()["errors"][0]["field"] == "body.disease_code"
    # 慢阻肺 joined the list on 2020-01-01: not listed the day before
    before = await client.post(
        "/critical-cases", json=case(person, "J44.1", diagnosed_on="2019-12-31"), headers=headers
    )
    assert before.status_code == 422 and before.json()["code"] == "NOT_ON_CRITICAL_LIST"
    unknown = await client.post("/critical-cases", json=case(str(uuid.uuid4())), headers=headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.person_id"

    opened = await client.post("/critical-cases", json=case(person), headers=headers)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["status"] == "identified" and body["under_treatment"] is False
    assert body["disease_code"] == "C16" and body["disease_name"] == "胃癌"
    case_id = body["id"]
    again = await client.post("/critical-cases", json=case(person, "C16.0"), headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "CASE_EXISTS"

    # identified → treated skips treatment: refused; treated → anything: refused
    skip = await client.post(
        f"/critical-cases/{case_id}/transitions",
        json={"to": "treated", "on": f"{YEAR}-02-11"},
        headers=headers,
    )
    assert skip.status_code == 409 and skip.json()["code"] == "TRANSITION_NOT_ALLOWED"
    no_hospital = await client.post(
        f"/critical-cases/{case_id}/transitions",
        json={"to": "referred", "on": f"{YEAR}-02-12"},
        headers=headers,
    )
    assert no_hospital.status_code == 422
    for step in (
        {"to": "treating", "on": f"{YEAR}-02-12"},
        {"to": "referred", "on": f"{YEAR}-02-20", "referred_to": "甘肃省人民医院", "note": "转诊"},
        {"to": "treated", "on": f"{YEAR}-03-30"},
    ):
        moved = await client.post(
            f"/critical-cases/{case_id}/transitions", json=step, headers=headers
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == step["to"]
    final = moved.json()
    assert final["under_treatment"] is False and final["referred_to"] == "甘肃省人民医院"
    assert final["treatment_started_on"] == f"{YEAR}-02-12"
    assert [t["to"] for t in final["transitions"]] == [
        "identified",
        "treating",
        "referred",
        "treated",
    ]
    closed = await client.post(
        f"/critical-cases/{case_id}/transitions",
        json={"to": "closed", "on": f"{YEAR}-04-01", "note": "死亡"},
        headers=headers,
    )
    assert closed.status_code == 409

    # a second case closed without treatment, with a reason
    other = (
        await client.post("/critical-cases", json=case(person, "I63.9"), headers=headers)
    ).json()
    reasonless = await client.post(
        f"/critical-cases/{other['id']}/transitions",
        json={"to": "closed", "on": f"{YEAR}-02-15"},
        headers=headers,
    )
    assert reasonless.status_code == 422
    early = await client.post(
        f"/critical-cases/{other['id']}/transitions",
        json={"to": "closed", "on": f"{YEAR}-01-15", "note": "死亡"},
        headers=headers,
    )
    assert early.status_code == 422  # before the diagnosis
    closed = await client.post(
        f"/critical-cases/{other['id']}/transitions",
        json={"to": "closed", "on": f"{YEAR}-02-15", "note": "死亡"},
        headers=headers,
    )
    assert closed.status_code == 200 and closed.json()["closed_reason"] == "死亡"

    # the ledger: filters, paging and region scope
    listed = await client.get(
        "/critical-cases", params={"region": VILLAGE, "status": "treated"}, headers=headers
    )
    assert [c["id"] for c in listed.json()["items"]] == [case_id]
    by_disease = await client.get("/critical-cases", params={"disease": "I63"}, headers=headers)
    assert by_disease.json()["total"] == 1 and by_disease.json()["items"][0]["id"] == other["id"]
    paged = await client.get("/critical-cases", params={"size": 1}, headers=headers)
    assert paged.json()["total"] == 2 and len(paged.json()["items"]) == 1
    elsewhere = auth_keys.headers("health_officer", OTHER_TOWNSHIP_VILLAGE)
    assert (await client.get(f"/critical-cases/{case_id}", headers=elsewhere)).status_code == 404
    hidden = await client.post(
        f"/critical-cases/{other['id']}/transitions",
        json={"to": "treating", "on": f"{YEAR}-02-16"},
        headers=elsewhere,
    )
    assert hidden.status_code == 404
    empty = await client.get("/critical-cases", headers=elsewhere)
    assert empty.json()["total"] == 0

    # 救治率: two identified, one reached treatment
    report = await client.get(
        "/reports/critical-care", params={"year": YEAR, "region": VILLAGE}, headers=headers
    )
    assert report.status_code == 200, report.text
    report = report.json()
    assert (report["identified"], report["treated"], report["completed"]) == (2, 1, 1)
    assert report["care_rate"] == 0.5 and report["open"] == 0
    assert {r["disease_code"]: r["treated"] for r in report["diseases"]} == {"C16": 1, "I63": 0}

    # events: one diagnosis (critical) and one update per status, without the disease
    diagnosed = await outbox_rows(health_app, "health.disease.diagnosed", case_id)
    assert len(diagnosed) == 1 and diagnosed[0]["data"]["critical"] is True
    updates = await outbox_rows(health_app, "health.critical_case.updated", case_id)
    assert [(u["data"]["status"], u["data"]["under_treatment"]) for u in updates] == [
        ("identified", False),
        ("treating", True),
        ("referred", True),
        ("treated", False),
    ]
    assert [str(u["sequence"]) for u in updates] == ["1", "2", "3", "4"]
    for update in updates:
        assert "胃癌" not in json.dumps(update, ensure_ascii=False)
        assert "C16" not in json.dumps(update)


async def test_an_open_case_waives_the_cii_deductible(client, js, auth_keys):
    headers = auth_keys.headers("health_officer", VILLAGE)

    async def settled(**overrides) -> tuple[dict[str, Decimal], dict]:
        """The payers and terms of the claim; then reversed, so the annual caps stay whole."""
        response = await client.post("/claims", json=claim(person, **overrides), headers=headers)
        assert response.status_code == 201, response.text
        reversal = await client.post(
            f"/claims/{response.json()['id']}/reversal", json={"reason": "测试"}, headers=headers
        )
        assert reversal.status_code == 200
        return payers(response), response.json()["settlement"]["terms"]

    # the general group: 大病保险 has a 10,000 deductible
    person = await patient(client, js, auth_keys, poverty_state="rejected")
    without, terms = await settled()
    # BMI (56000 − 600) × 0.65 = 36,010; CII (19,990 − 10,000) × 0.50
    assert without["cii"] == Decimal("4995.00") and terms["critical_case"] is None

    opened = await client.post("/critical-cases", json=case(person), headers=headers)
    case_id = opened.json()["id"]
    elsewhere, _ = await settled(hospital_name="临夏州人民医院")
    assert elsewhere["cii"] == Decimal("4995.00")  # not the designated hospital
    other_disease, _ = await settled(diagnosis_code="K35.8", diagnosis_name="阑尾炎")
    assert other_disease["cii"] == Decimal("4995.00")

    with_case, terms = await settled(diagnosis_code="C16.2")
    assert with_case["cii"] == Decimal("9995.00")  # 19,990 × 0.50, no deductible
    assert with_case["bmi"] == without["bmi"]
    assert terms["critical_case"] == case_id and terms["cii"]["deductible"] == "0.00"
    assert terms["group"] == "general"
    assert sum(with_case.values()) == Decimal("60000.00")

    # the county turns the waiver off: the case is still recorded, the deductible applies
    admin = auth_keys.headers("county_admin", COUNTY)
    off = await client.put(
        "/policy/critical.cii_deductible_waived",
        json={"region_code": COUNTY, "year": YEAR, "value": False, "reason": "县医保局文件"},
        headers=admin,
    )
    assert off.status_code == 200, off.text
    waived_off, terms = await settled()
    assert waived_off["cii"] == Decimal("4995.00") and terms["critical_case"] == case_id
    on = await client.put(
        "/policy/critical.cii_deductible_waived",
        json={"region_code": COUNTY, "year": YEAR, "value": True, "reason": "县医保局文件"},
        headers=admin,
    )
    assert on.status_code == 200

    # referred: the referral hospital counts too; once treated the case is closed to claims
    referred = await client.post(
        f"/critical-cases/{case_id}/transitions",
        json={"to": "referred", "on": f"{YEAR}-02-11", "referred_to": "临夏州人民医院"},
        headers=headers,
    )
    assert referred.status_code == 200, referred.text
    there, terms = await settled(hospital_name="临夏州人民医院")
    assert there["cii"] == Decimal("9995.00") and terms["critical_case"] == case_id
    treated = await client.post(
        f"/critical-cases/{case_id}/transitions",
        json={"to": "treated", "on": f"{YEAR}-02-28"},
        headers=headers,
    )
    assert treated.status_code == 200
    after, terms = await settled()
    assert after["cii"] == Decimal("4995.00") and terms["critical_case"] is None
