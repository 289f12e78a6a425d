"""Family-doctor contracts (家庭医生签约), follow-ups (随访) and the 签约率 / 履约率 report."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway_testdata import VILLAGE, event, member, publish
from sqlalchemy import text

from contracts.events import registry as registry_events
from devstack.testing import eventually
from kit.clock import FixedClock

YEAR = 2026
COUNTY = "622924000000"
TOWNSHIP = "622924100000"
OTHER_TOWNSHIP = "622924101201"


async def household(client, js, auth_keys, names: list[str], persons_after: int) -> list[str]:
    """Project a registry household; wait until the health service knows ``persons_after``
    persons in the village."""
    hid = uuid.uuid4()
    members = [member(name, "head" if i == 0 else "child") for i, name in enumerate(names)]
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members)
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    headers = auth_keys.headers("health_officer", VILLAGE)
    await eventually(
        lambda: client.get(
            "/reports/family-doctors", params={"year": YEAR, "region": VILLAGE}, headers=headers
        ),
        until=lambda r: r.json()["total"]["persons"] == persons_after,
    )
    return [str(m["member_id"]) for m in members]


def contract(person_id: str, **overrides) -> dict:
    body = dict(
        person_id=person_id,
        doctor_name="李医生",
        team="城关镇卫生院家庭医生团队一组",
        institution="城关镇卫生院",
        signed_on=f"{YEAR}-01-10",
        valid_until=f"{YEAR}-12-31",
        paid=False,
        fee="0.00",
        chronic_conditions=["hypertension"],
    )
    return {**body, **overrides}


def follow_up(on: str, face_to_face: bool = True, **overrides) -> dict:
    return {
        "on": on,
        "face_to_face": face_to_face,
        "condition": "hypertension",
        "disposition": "血压控制良好, 继续服用氨氯地平",
        **overrides,
    }


def at(health_app, day: dt.date) -> None:
    health_app.state.clock = FixedClock(day)


async def outbox_rows(health_app, prefix: str) -> list[dict]:
    async with health_app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope FROM outbox WHERE event_type LIKE :type ORDER BY created_at,"
                " (envelope->>'sequence')::int"
            ),
            {"type": f"cn.jingzhun.{prefix}%"},
        )
        return [row.envelope for row in rows]


async def test_contract_rules(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    head, child = await household(client, js, auth_keys, ["马建国", "马小军"], 2)

    signed = await client.post("/doctor-contracts", json=contract(head), headers=headers)
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert body["status"] == "active" and body["in_force"] is True
    assert body["chronic_conditions"] == [{"code": "hypertension", "name": "高血压", "key": True}]

    # One contract a person at a time: an overlapping period is a 409, nothing stored.
    again = await client.post(
        "/doctor-contracts",
        json=contract(head, signed_on=f"{YEAR}-06-01", valid_until=f"{YEAR + 1}-05-31"),
        headers=headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "CONTRACT_EXISTS"

    bad = [
        (contract(child, valid_until=f"{YEAR}-01-01"), "body.valid_until"),
        (contract(child, signed_on=f"{YEAR}-07-01"), "body.signed_on"),  # in the future
        (contract(child, paid=True, fee="0.00"), "body.fee"),
        (contract(child, paid=True), "body.fee"),
        (contract(child, fee="50.00"), "body.fee"),  # free but with a fee
        (contract(child, chronic_conditions=["hypertension", "asthma"]), None),
        (contract(child, chronic_conditions=["diabetes", "diabetes"]), "body.chronic_conditions"),
        (contract(child, chronic_conditions=["高血压"]), "body.chronic_conditions.0"),
    ]
    for payload, field in bad:
        response = await client.post("/doctor-contracts", json=payload, headers=headers)
        assert response.status_code == 422, (payload, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == (field or "body.chronic_conditions[1]"), response.json()
    unknown = await client.post(
        "/doctor-contracts", json=contract(child, chronic_conditions=["asthma"]), headers=headers
    )
    assert unknown.json()["code"] == "UNKNOWN_CONDITION"

    # Outside the caller's region, or unknown: 404.
    hidden = auth_keys.headers("health_officer", OTHER_TOWNSHIP)
    assert (await client.get(f"/doctor-contracts/{body['id']}", headers=hidden)).status_code == 404
    assert (
        await client.post("/doctor-contracts", json=contract(child), headers=hidden)
    ).status_code == 404
    assert (
        await client.post("/doctor-contracts", json=contract(str(uuid.uuid4())), headers=headers)
    ).status_code == 404
    termination = {"reason": "迁出", "on": f"{YEAR}-03-31"}
    assert (
        await client.post(
            f"/doctor-contracts/{body['id']}/termination", json=termination, headers=hidden
        )
    ).status_code == 404

    paid = await client.post(
        "/doctor-contracts",
        json=contract(child, paid=True, fee="120.00", chronic_conditions=["cerebrovascular"]),
        headers=headers,
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["chronic_conditions"][0] == {
        "code": "cerebrovascular",
        "name": "脑血管病",
        "key": False,
    }
    listed = await client.get("/doctor-contracts", params={"active": True}, headers=headers)
    assert listed.json()["total"] == 2
    mine = await client.get("/doctor-contracts", params={"person_id": head}, headers=headers)
    assert [c["id"] for c in mine.json()["items"]] == [body["id"]]
    assert (await client.get("/doctor-contracts", headers=hidden)).json()["total"] == 0

    # Termination: within the contract, once; then a new contract may follow the end.
    outside = await client.post(
        f"/doctor-contracts/{body['id']}/termination",
        json={"reason": "迁出", "on": f"{YEAR - 1}-12-31"},
        headers=headers,
    )
    assert outside.status_code == 422 and outside.json()["code"] == "OUTSIDE_CONTRACT"
    ended = await client.post(
        f"/doctor-contracts/{body['id']}/termination", json=termination, headers=headers
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["ended_on"]) == ("ended", f"{YEAR}-03-31")
    assert ended.json()["in_force"] is False
    twice = await client.post(
        f"/doctor-contracts/{body['id']}/termination", json=termination, headers=headers
    )
    assert twice.status_code == 409 and twice.json()["code"] == "CONTRACT_ENDED"
    overlap = contract(head, signed_on=f"{YEAR}-03-31")
    assert (
        await client.post("/doctor-contracts", json=overlap, headers=headers)
    ).status_code == 409
    renewed = contract(head, signed_on=f"{YEAR}-04-01")
    assert (
        await client.post("/doctor-contracts", json=renewed, headers=headers)
    ).status_code == 201
    inactive = await client.get("/doctor-contracts", params={"active": False}, headers=headers)
    assert [c["id"] for c in inactive.json()["items"]] == [body["id"]]

    # Events: signed ×3 and ended ×1, flags only (DOMAIN §1.7: no condition names).
    envelopes = await outbox_rows(health_app, "health.contract.")
    kinds = [e["type"].split(".")[-2] for e in envelopes]
    assert sorted(kinds) == ["ended", "signed", "signed", "signed"]
    first = [e for e in envelopes if e["subject"] == body["id"]]
    assert [(e["sequence"], e["data"]["status"]) for e in first] == [(1, "active"), (2, "ended")]
    assert first[1]["data"]["ended_on"] == f"{YEAR}-03-31"
    assert all(e["data"]["chronic"] is True for e in envelopes)
    assert not any("hypertension" in str(e) or "cerebrovascular" in str(e) for e in envelopes)
    assert {e["data"]["paid"] for e in envelopes} == {True, False}


async def test_every_follow_up_needs_a_disposition(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (head,) = await household(client, js, auth_keys, ["马建国"], 1)
    signed = await client.post(
        "/doctor-contracts", json=contract(head, signed_on=f"{YEAR}-02-01"), headers=headers
    )
    url = f"/doctor-contracts/{signed.json()['id']}/follow-ups"
    missing = follow_up(f"{YEAR}-03-01")
    del missing["disposition"]
    cases = [
        (follow_up(f"{YEAR}-03-01", disposition="   "), "body.disposition"),
        (missing, "body.disposition"),
        (follow_up(f"{YEAR}-01-31"), "body.on"),  # before the contract
        (follow_up(f"{YEAR}-07-01"), "body.on"),  # in the future
        (follow_up(f"{YEAR}-03-01", condition="diabetes"), "body.condition"),
    ]
    for payload, field in cases:
        response = await client.post(url, json=payload, headers=headers)
        assert response.status_code == 422, (payload, response.text)
        problem = response.json()
        error = problem["errors"][0]
        assert error["field"] == field, problem
    recorded = await client.post(url, json=follow_up(f"{YEAR}-03-01"), headers=headers)
    assert recorded.status_code == 201, recorded.text
    general = await client.post(
        url, json=follow_up(f"{YEAR}-04-01", False, condition=None), headers=headers
    )
    assert general.status_code == 201
    listed = (await client.get(url, headers=headers)).json()
    assert [(f["on"], f["face_to_face"], f["condition"]) for f in listed] == [
        (f"{YEAR}-03-01", True, "hypertension"),
        (f"{YEAR}-04-01", False, None),
    ]
    assert listed[0]["disposition"] == "血压控制良好, 继续服用氨氯地平"

    # A contract cannot end before a recorded follow-up; after its end none is accepted.
    early = await client.post(
        f"/doctor-contracts/{signed.json()['id']}/termination",
        json={"reason": "死亡", "on": f"{YEAR}-03-15"},
        headers=headers,
    )
    assert early.status_code == 422 and early.json()["code"] == "FOLLOW_UPS_AFTER_END"
    ended = await client.post(
        f"/doctor-contracts/{signed.json()['id']}/termination",
        json={"reason": "死亡", "on": f"{YEAR}-05-01"},
        headers=headers,
    )
    assert ended.status_code == 200
    late = await client.post(url, json=follow_up(f"{YEAR}-05-02"), headers=headers)
    assert late.status_code == 422 and late.json()["code"] == "OUTSIDE_CONTRACT"
    async with health_app.state.runtime.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM doctor_follow_ups"))).scalar_one()
    assert stored == 2


async def test_contract_and_compliance_rates(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 12, 31))
    headers = auth_keys.headers("health_officer", VILLAGE)
    a, b = await household(client, js, auth_keys, ["马建国", "马秀英"], 2)
    c, _d = await household(client, js, auth_keys, ["韩德明", "韩小花"], 4)
    ids = {}
    for person, payload in [
        (a, contract(a)),
        (b, contract(b, paid=True, fee="50.00", chronic_conditions=[])),
        (c, contract(c, chronic_conditions=["diabetes", "cerebrovascular"])),
    ]:
        response = await client.post("/doctor-contracts", json=payload, headers=headers)
        assert response.status_code == 201, response.text
        ids[person] = response.json()["id"]
    # A: four face-to-face follow-ups (and a phone call) → kept (履约).
    # C: three face-to-face and two by phone → not kept.
    plan = {
        a: [("02-01", True), ("05-01", True), ("06-15", False), ("08-01", True), ("11-01", True)],
        c: [("02-02", True), ("03-02", False), ("05-02", True), ("09-02", False), ("11-02", True)],
    }
    for person, visits in plan.items():
        condition = "hypertension" if person == a else "diabetes"
        for day, face in visits:
            response = await client.post(
                f"/doctor-contracts/{ids[person]}/follow-ups",
                json=follow_up(f"{YEAR}-{day}", face, condition=condition),
                headers=headers,
            )
            assert response.status_code == 201, response.text

    county = auth_keys.headers("health_officer", COUNTY)
    report = await client.get("/reports/family-doctors", params={"year": YEAR}, headers=county)
    assert report.status_code == 200, report.text
    expected = {
        "region_code": TOWNSHIP,
        "persons": 4,
        "contracted": 3,
        "contract_rate": 0.75,
        "contracts": 3,
        "paid": 1,
        "free": 2,
        "key_chronic": 2,
        "compliant": 1,
        "compliance_rate": 0.5,
    }
    assert report.json()["regions"] == [expected]
    assert report.json()["total"] == {**expected, "region_code": COUNTY}
    # Another year: no contract in force, nobody contracted.
    other_year = await client.get(
        "/reports/family-doctors", params={"year": YEAR + 1}, headers=county
    )
    total = other_year.json()["total"]
    assert (total["persons"], total["contracted"], total["contract_rate"]) == (4, 0, 0.0)
    assert total["compliance_rate"] is None

    missing = await client.get(
        "/reports/family-doctors/non-compliant", params={"year": YEAR}, headers=county
    )
    assert missing.json()["total"] == 1
    (row,) = missing.json()["items"]
    assert (row["contract_id"], row["person_name"]) == (ids[c], "韩德明")
    assert (row["face_to_face_follow_ups"], row["required"]) == (3, 4)

    # The 慢病 lists are parameters, shown with their defaults.
    listed = await client.get("/policy", params={"year": YEAR}, headers=county)
    values = {p["key"]: p for p in listed.json()}
    key_list = values["family_doctor.key_chronic_conditions"]
    assert key_list["source"] == "default"
    assert list(key_list["value"]) == [
        "hypertension",
        "diabetes",
        "tuberculosis",
        "severe_mental_disorder",
    ]
    assert (
        values["family_doctor.other_chronic_conditions"]["value"]["cerebrovascular"] == "脑血管病"
    )
    assert values["family_doctor.min_face_to_face_follow_ups"]["value"] == 4

    # The county lowers the minimum to 3 for 2026: C's contract is kept too.
    admin = auth_keys.headers("county_admin", COUNTY)
    changed = await client.put(
        "/policy/family_doctor.min_face_to_face_follow_ups",
        json={"region_code": COUNTY, "year": YEAR, "value": 3, "reason": "县卫健委文件"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    report = await client.get("/reports/family-doctors", params={"year": YEAR}, headers=county)
    assert (report.json()["total"]["compliant"], report.json()["total"]["compliance_rate"]) == (
        2,
        1.0,
    )
    missing = await client.get(
        "/reports/family-doctors/non-compliant", params={"year": YEAR}, headers=county
    )
    assert missing.json() == {"items": [], "total": 0, "page": 1, "size": 50}
    outside = await client.get(
        "/reports/family-doctors", params={"year": YEAR, "region": COUNTY}, headers=headers
    )
    assert outside.status_code == 403
