"""Test data of health shared beyond its own tests (the hostile-input suite)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from gateway_testdata import VILLAGE, event, member, publish

COUNTY = "622924000000"


async def hostile_seed(app, client, stack):
    """Real rows for the hostile-input suite (tests/test_hostile_input.py): a projected
    registered household of two, insured this year, with a claim, a critical case, a
    chronic certificate, a dialysis course and a family-doctor contract."""
    import nats

    from contracts.events import registry as registry_events
    from devstack.hostile import Seed
    from devstack.testing import eventually

    year = dt.date.today().year
    day = f"{year}-{dt.date.today().month:02d}-01"
    headers = stack.keys.headers("health_officer", VILLAGE)
    hid = uuid.uuid4()
    head, spouse = member("马建国", "head"), member("王秀英", "spouse")
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=[head, spouse])
    # A person per probe of a create with a natural key (one open case, course, contract
    # or certificate per person): else the first accepted probe hides the others behind 409s.
    pool_households = [uuid.uuid4() for _ in range(8)]
    pool = []
    nc = await nats.connect(stack.nats_url)
    try:
        await publish(nc.jetstream(), registry_events.HOUSEHOLD_CREATED, created)
        for n, pid in enumerate(pool_households):
            members = [member(f"马{n}{i}", "head" if i == 0 else "child") for i in range(30)]
            pool += [str(m["member_id"]) for m in members]
            _, body = event(registry_events.HOUSEHOLD_CREATED, pid, 1, members=members)
            await publish(nc.jetstream(), registry_events.HOUSEHOLD_CREATED, body)
    finally:
        await nc.close()
    await eventually(
        lambda: client.get(f"/households/{pool_households[-1]}/summary", headers=headers),
        until=lambda r: r.status_code == 200,
    )
    patients = itertools.cycle(pool)
    enrolled = await eventually(
        lambda: client.post(f"/households/{hid}/enrolments", json={"year": year}, headers=headers),
        until=lambda r: r.status_code == 201,
    )
    person = str(head["member_id"])

    def claim() -> dict:
        return dict(
            claim_no=f"ZY-{uuid.uuid4().hex[:12]}",
            person_id=person,
            kind="inpatient",
            hospital_name="广河县人民医院",
            hospital_level="county",
            diagnosis_code="C16.9",
            diagnosis_name="胃癌",
            admitted_on=day,
            discharged_on=day,
            lines=[dict(item="手术费", amount="5000.00")],
        )

    bodies = {
        "POST /claims": claim,
        "POST /critical-cases": lambda: dict(
            person_id=next(patients),
            disease_code="C16.9",
            diagnosed_on=day,
            designated_hospital="县医院",
        ),
        "POST /chronic-certificates": lambda: dict(
            person_id=next(patients),
            disease_code="I10",
            disease_name="高血压",
            issued_on=day,
            valid_until=f"{year + 1}-12-31",
            issuer="广河县人民医院",
        ),
        "POST /dialysis-patients": lambda: dict(
            person_id=next(patients), started_on=day, facility="县医院"
        ),
        "POST /doctor-contracts": lambda: dict(
            person_id=next(patients),
            doctor_name="李医生",
            team="城关镇家庭医生团队",
            institution="城关镇卫生院",
            signed_on=day,
            valid_until=f"{year}-12-31",
            paid=False,
        ),
        "POST /enrolments": lambda: dict(person_id=next(patients), year=year),
        "POST /critical-diseases/versions": dict(
            name="广河县新增1种",
            region_code=COUNTY,
            valid_from=f"{year + 1}-01-01",
            diseases=[dict(code="C22", name="肝癌")],
        ),
    }
    ids = {}
    for path, name in (
        ("/claims", "claim_id"),
        ("/critical-cases", "case_id"),
        ("/chronic-certificates", "certificate_id"),
        ("/dialysis-patients", "patient_id"),
        ("/doctor-contracts", "contract_id"),
    ):
        body = bodies[f"POST {path}"]
        response = await client.post(path, json=body() if callable(body) else body, headers=headers)
        assert response.status_code == 201, (path, response.text)
        ids[name] = response.json()["id"]
    return Seed(
        values={
            **ids,
            "household_id": str(hid),
            "person_id": person,
            "enrolment_id": enrolled.json()[0]["id"],
            "region": VILLAGE,
            "region_code": VILLAGE,
            "key": "dialysis.subsidy_per_session",
            "year": year,
            "on": day,
        },
        bodies={
            **bodies,
            "POST /claims/{claim_id}/reversal": {"reason": "重复结算"},
            "POST /critical-cases/{case_id}/transitions": {"to": "treated", "on": day},
            "POST /dialysis-patients/{patient_id}/sessions": {"on": day},
            "POST /doctor-contracts/{contract_id}/follow-ups": {
                "on": day,
                "face_to_face": True,
                "disposition": "测血压, 调整用药",
            },
            "PUT /policy/{key}": {
                "region_code": VILLAGE,
                "year": year,
                "value": "120.00",
                "reason": "县医保局文件",
            },
            "POST /reports/reconciliation": {
                "stated": "300.00",
                "parts": [{"label": "甲", "amount": "100.00"}, {"label": "乙", "amount": "200.00"}],
            },
        },
    )
