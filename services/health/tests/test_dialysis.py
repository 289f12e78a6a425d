"""Dialysis (血液透析): patients, sessions with the county subsidy, the report, events."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from gateway_testdata import VILLAGE
from sqlalchemy import text
from test_doctors import COUNTY, OTHER_TOWNSHIP, TOWNSHIP, YEAR, at, household, outbox_rows


async def test_sessions_earn_the_subsidy_of_their_region_and_year(
    client, js, auth_keys, health_app
):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    registration = {
        "person_id": person,
        "started_on": f"{YEAR}-03-01",
        "facility": "广河县人民医院",
    }
    created = await client.post("/dialysis-patients", json=registration, headers=headers)
    assert created.status_code == 201, created.text
    patient = created.json()
    assert (patient["status"], patient["person_name"]) == ("open", "马建国")
    again = await client.post("/dialysis-patients", json=registration, headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "DIALYSIS_OPEN"
    hidden = auth_keys.headers("health_officer", OTHER_TOWNSHIP)
    assert (
        await client.post("/dialysis-patients", json=registration, headers=hidden)
    ).status_code == 404
    assert (
        await client.get(f"/dialysis-patients/{patient['id']}", headers=hidden)
    ).status_code == 404
    future = {**registration, "started_on": f"{YEAR}-07-01"}
    response = await client.post("/dialysis-patients", json=future, headers=headers)
    assert response.status_code == 422

    url = f"/dialysis-patients/{patient['id']}/sessions"
    for day in range(2, 9):  # seven sessions, 3月2日 … 3月8日
        response = await client.post(url, json={"on": f"{YEAR}-03-0{day}"}, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["subsidy"] == "100.00"
        assert response.json()["facility"] == "广河县人民医院"
    duplicate = await client.post(url, json={"on": f"{YEAR}-03-05"}, headers=headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "DUPLICATE_SESSION"
    for bad in (f"{YEAR}-02-28", f"{YEAR}-07-01"):  # before the start, in the future
        response = await client.post(url, json={"on": bad}, headers=headers)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.on"
    assert (await client.post(url, json={"on": f"{YEAR}-03-09"}, headers=hidden)).status_code == 404

    county = auth_keys.headers("health_officer", COUNTY)

    async def report(year: int = YEAR) -> dict:
        response = await client.get("/reports/dialysis", params={"year": year}, headers=county)
        assert response.status_code == 200, response.text
        return response.json()

    first = await report()
    assert first["regions"] == [
        {"region_code": TOWNSHIP, "patients": 1, "sessions": 7, "subsidy_total": "700.00"}
    ]
    assert first["total"] == {
        "region_code": COUNTY,
        "patients": 1,
        "sessions": 7,
        "subsidy_total": "700.00",
    }

    # The county raises the rate to 120.00 for the village from 2026 on: new sessions only.
    admin = auth_keys.headers("county_admin", COUNTY)
    changed = await client.put(
        "/policy/dialysis.subsidy_per_session",
        json={"region_code": VILLAGE, "year": YEAR, "value": "120.00", "reason": "县医保局文件"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    for day in ("03-09", "03-11"):
        response = await client.post(
            url, json={"on": f"{YEAR}-{day}", "facility": "城关镇卫生院"}, headers=headers
        )
        assert (response.json()["subsidy"], response.json()["facility"]) == (
            "120.00",
            "城关镇卫生院",
        )
    sessions = (await client.get(url, headers=headers)).json()
    assert [Decimal(s["subsidy"]) for s in sessions] == [Decimal("100.00")] * 7 + [
        Decimal("120.00")
    ] * 2
    assert [s["on"] for s in sessions][:2] == [f"{YEAR}-03-02", f"{YEAR}-03-03"]
    second = await report()
    assert (second["total"]["sessions"], second["total"]["subsidy_total"]) == (9, "940.00")
    assert (await report(YEAR - 1))["total"] == {
        "region_code": COUNTY,
        "patients": 0,
        "sessions": 0,
        "subsidy_total": "0.00",
    }

    # End: not before the last session; then no session after the end, and a new course
    # may be opened.
    end = f"/dialysis-patients/{patient['id']}/end"
    early = await client.post(
        end, json={"on": f"{YEAR}-03-10", "reason": "肾移植"}, headers=headers
    )
    assert early.status_code == 422 and early.json()["code"] == "END_TOO_EARLY"
    ended = await client.post(
        end, json={"on": f"{YEAR}-03-31", "reason": "肾移植"}, headers=headers
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["end_reason"]) == ("ended", "肾移植")
    twice = await client.post(
        end, json={"on": f"{YEAR}-03-31", "reason": "肾移植"}, headers=headers
    )
    assert twice.status_code == 409
    late = await client.post(url, json={"on": f"{YEAR}-04-01"}, headers=headers)
    assert late.status_code == 422 and late.json()["code"] == "OUTSIDE_COURSE"
    in_course = await client.post(url, json={"on": f"{YEAR}-03-20"}, headers=headers)
    assert in_course.status_code == 201  # a late entry within the course is still accepted
    listed = await client.get("/dialysis-patients", params={"open": False}, headers=headers)
    assert [p["id"] for p in listed.json()["items"]] == [patient["id"]]
    reopened = await client.post(
        "/dialysis-patients", json={**registration, "started_on": f"{YEAR}-05-01"}, headers=headers
    )
    assert reopened.status_code == 201
    assert (await client.get("/dialysis-patients", params={"open": True}, headers=headers)).json()[
        "total"
    ] == 1

    # Events: started ×2, a session_recorded per session with its subsidy, ended ×1.
    envelopes = await outbox_rows(health_app, "health.dialysis.")
    by_kind: dict[str, list[dict]] = {}
    for envelope in envelopes:
        by_kind.setdefault(envelope["type"].split(".")[-2], []).append(envelope)
    assert {k: len(v) for k, v in by_kind.items()} == {
        "started": 2,
        "session_recorded": 10,
        "ended": 1,
    }
    started = by_kind["started"][0]
    assert (started["subject"], started["sequence"]) == (patient["id"], 1)
    assert started["data"]["enrolment_id"] == patient["id"]
    assert started["data"]["person_id"] == person
    (end_event,) = by_kind["ended"]
    assert (end_event["subject"], end_event["sequence"]) == (patient["id"], 2)
    assert end_event["data"]["ended_on"] == f"{YEAR}-03-31"
    subsidies = sorted(Decimal(e["data"]["subsidy"]) for e in by_kind["session_recorded"])
    assert sum(subsidies) == Decimal("1060.00")  # 7 × 100 + 3 × 120
    assert all(e["data"]["dialysis_id"] == patient["id"] for e in by_kind["session_recorded"])
    async with health_app.state.runtime.engine.connect() as conn:
        stored = (
            await conn.execute(text("SELECT count(*), sum(subsidy) FROM dialysis_sessions"))
        ).one()
    assert stored == (10, Decimal("1060.00"))
    assert uuid.UUID(by_kind["session_recorded"][0]["subject"])
