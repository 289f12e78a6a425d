"""门诊慢性病证明 through the API: issue, list, revoke, events, and `has_certificate` on a
claim (which does not change the money)."""

from __future__ import annotations

import json
import uuid

from gateway_testdata import OTHER_TOWNSHIP_VILLAGE, VILLAGE
from test_claims import YEAR, claim, patient, payers
from test_critical import outbox_rows


def certificate(person: str, **overrides) -> dict:
    body = dict(
        person_id=person,
        disease_code="I10",
        disease_name="高血压",
        issued_on=f"{YEAR}-01-05",
        valid_until=f"{YEAR}-12-31",
        issuer="广河县人民医院",
    )
    return {**body, **overrides}


def outpatient(person: str, **overrides) -> dict:
    body = dict(
        kind="outpatient",
        diagnosis_code="I10.X",
        diagnosis_name="高血压",
        admitted_on=f"{YEAR}-03-01",
        discharged_on=f"{YEAR}-03-01",
        lines=[dict(item="药品费", amount="300.00")],
    )
    return claim(person, **{**body, **overrides})


async def test_certificates_issue_list_revoke(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    person = await patient(client, js, auth_keys)

    before = await client.post("/claims", json=outpatient(person), headers=headers)
    assert before.status_code == 201, before.text
    assert before.json()["settlement"]["terms"]["has_certificate"] is False

    backwards = await client.post(
        "/chronic-certificates",
        json=certificate(person, valid_until=f"{YEAR}-01-01"),
        headers=headers,
    )
    assert backwards.status_code == 422
    unknown = await client.post(
        "/chronic-certificates", json=certificate(str(uuid.uuid4())), headers=headers
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.person_id"

    issued = await client.post("/chronic-certificates", json=certificate(person), headers=headers)
    assert issued.status_code == 201, issued.text
    cert = issued.json()
    assert cert["status"] == "active" and cert["valid_until"] == f"{YEAR}-12-31"
    twice = await client.post("/chronic-certificates", json=certificate(person), headers=headers)
    assert twice.status_code == 409 and twice.json()["code"] == "CERTIFICATE_EXISTS"

    # recorded on the claim, the money unchanged
    after = await client.post("/claims", json=outpatient(person), headers=headers)
    assert after.json()["settlement"]["terms"]["has_certificate"] is True
    assert payers(after) == payers(before)
    other = await client.post(
        "/claims",
        json=outpatient(person, diagnosis_code="E11.9", diagnosis_name="糖尿病"),
        headers=headers,
    )
    assert other.json()["settlement"]["terms"]["has_certificate"] is False

    listed = await client.get(
        "/chronic-certificates", params={"person_id": person}, headers=headers
    )
    assert [c["id"] for c in listed.json()["items"]] == [cert["id"]]
    elsewhere = auth_keys.headers("health_officer", OTHER_TOWNSHIP_VILLAGE)
    assert (await client.get("/chronic-certificates", headers=elsewhere)).json()["total"] == 0
    assert (
        await client.get(f"/chronic-certificates/{cert['id']}", headers=elsewhere)
    ).status_code == 404

    no_reason = await client.post(
        f"/chronic-certificates/{cert['id']}/revocation", json={}, headers=headers
    )
    assert no_reason.status_code == 422
    revoked = await client.post(
        f"/chronic-certificates/{cert['id']}/revocation",
        json={"reason": "复审不符合条件"},
        headers=headers,
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = await client.post(
        f"/chronic-certificates/{cert['id']}/revocation", json={"reason": "x"}, headers=headers
    )
    assert again.status_code == 409
    later = await client.post("/claims", json=outpatient(person), headers=headers)
    assert later.json()["settlement"]["terms"]["has_certificate"] is False
    active = await client.get(
        "/chronic-certificates", params={"person_id": person, "status": "active"}, headers=headers
    )
    assert active.json()["total"] == 0
    # revoked, it may be issued again
    reissued = await client.post("/chronic-certificates", json=certificate(person), headers=headers)
    assert reissued.status_code == 201

    issued_events = await outbox_rows(health_app, "health.chronic_certificate.issued", cert["id"])
    revoked_events = await outbox_rows(health_app, "health.chronic_certificate.revoked", cert["id"])
    assert len(issued_events) == 1 and len(revoked_events) == 1
    assert revoked_events[0]["data"]["status"] == "revoked"
    assert revoked_events[0]["data"]["valid_until"] == f"{YEAR}-12-31"
    for event in issued_events + revoked_events:
        text = json.dumps(event, ensure_ascii=False)
        assert "高血压" not in text and "I10" not in text
