"""The identification workflow (识别): every step, windows by date, objections, quorum."""

from __future__ import annotations

import datetime as dt

from registry_testdata import VILLAGE
from sqlalchemy import text, update
from workflow_steps import (
    COUNTY,
    MEETING,
    REVIEW,
    SURVEY,
    new_candidate,
    ok_step,
    open_publicity,
    set_today,
    step,
    to_village_publicity,
)

from registry.models import Region

MAY_23 = dt.date(2026, 5, 23)


async def _events(app, event_type: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = text("SELECT count(*) FROM outbox WHERE event_type = :t")
        return (await conn.execute(query, {"t": f"cn.jingzhun.registry.{event_type}.v1"})).scalar()


async def test_from_application_to_registration_with_windows_by_date(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    set_today(registry_app, MAY_23)
    hid = await new_candidate(client, clerk)

    await ok_step(client, hid, "apply", clerk)
    surveyed = await ok_step(
        client,
        hid,
        "survey",
        clerk,
        **SURVEY,
        survey={"survey_year": 2025, "income_items": {"wage": "6000", "farming": "1500.30"}},
    )
    assert surveyed["poverty_state"] == "shortlisted"
    assert surveyed["survey"]["per_capita_net_income"] == "2500.10"  # 7500.30 ÷ 3
    steps = (await client.get(f"/households/{hid}/transitions", headers=admin)).json()["steps"]
    assert steps[-1]["details"]["survey"]["per_capita_net_income"] == "2500.10"  # as computed
    await ok_step(client, hid, "appraise", clerk, **MEETING)
    published = await ok_step(client, hid, "publicise", clerk)
    assert (published["poverty_state"], published["stage"]) == ("publicised", "village_publicity")
    window = await open_publicity(client, hid, clerk)
    assert (window["start_date"], window["end_date"]) == ("2026-05-23", "2026-05-29")  # 7 days

    set_today(registry_app, dt.date(2026, 5, 29))  # last day of the window
    running = await step(client, hid, "township_review", clerk, **REVIEW)
    assert running.status_code == 409 and running.json()["code"] == "PUBLICITY_RUNNING"
    set_today(registry_app, dt.date(2026, 5, 30))
    await ok_step(client, hid, "township_review", clerk, **REVIEW)
    assert (await open_publicity(client, hid, clerk))["end_date"] == "2026-06-05"  # 7 days

    set_today(registry_app, dt.date(2026, 6, 6))
    not_county = await step(client, hid, "county_review", clerk, **REVIEW)
    assert not_county.status_code == 403 and "registry:approve" in not_county.json()["detail"]
    await ok_step(client, hid, "county_review", admin, **REVIEW)
    assert (await open_publicity(client, hid, clerk))["end_date"] == "2026-06-10"  # 5 days

    set_today(registry_app, dt.date(2026, 6, 10))
    assert (await step(client, hid, "register", admin)).status_code == 409
    set_today(registry_app, dt.date(2026, 6, 11))
    registered = await ok_step(client, hid, "register", admin)
    assert registered["poverty_state"] == "registered" and registered["stage"] is None
    assert registered["identified_year"] == 2026

    workflow = (await client.get(f"/households/{hid}/transitions", headers=clerk)).json()
    assert [s["action"] for s in workflow["steps"]] == [
        "apply",
        "survey",
        "appraise",
        "publicise",
        "township_review",
        "county_review",
        "register",
    ]
    assert all(s["evidence"] and s["actor"] for s in workflow["steps"])
    assert workflow["steps"][1]["details"]["surveyors"] == SURVEY["surveyors"]
    assert workflow["steps"][2]["details"]["quorum"]["required"] == 30  # population unknown
    assert {a["action"] for a in workflow["allowed"]} == {"nominate_exit", "remove"}
    publicities = (await client.get(f"/households/{hid}/publicities", headers=clerk)).json()
    assert [p["status"] for p in publicities] == ["closed"] * 3
    assert await _events(registry_app, "household.state_changed") == 7
    assert await _events(registry_app, "publicity.opened") == 3
    assert await _events(registry_app, "publicity.closed") == 3


async def test_illegal_steps_are_refused_with_the_reason(client, auth_keys, registry_app):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    hid = await new_candidate(client, clerk)
    early = await step(client, hid, "survey", clerk, **SURVEY)
    assert early.status_code == 409 and early.json()["code"] == "ILLEGAL_TRANSITION"
    assert "allowed from: applied, surveyed" in early.json()["detail"]
    assert "Possible now: apply, backfill" in early.json()["detail"]

    no_evidence = await client.post(
        f"/households/{hid}/transitions", json={"action": "apply", "evidence": []}, headers=clerk
    )
    assert no_evidence.status_code == 422
    assert no_evidence.json()["errors"][0]["field"] == "body.apply.evidence"
    unknown = await client.post(
        f"/households/{hid}/transitions", json={"action": "fly", "evidence": []}, headers=clerk
    )
    assert unknown.status_code == 422
    future = await step(client, hid, "apply", clerk, on_date="2999-01-01")
    assert (
        future.status_code == 422 and future.json()["errors"][0]["field"] == "body.apply.on_date"
    )  # past the policy years

    await ok_step(client, hid, "apply", clerk)
    no_reason = await step(client, hid, "survey", clerk, **{**SURVEY, "outcome": "rejected"})
    assert no_reason.status_code == 422
    alone = await step(client, hid, "survey", clerk, **{**SURVEY, "surveyors": ["李调查"] * 2})
    assert alone.status_code == 422 and alone.json()["code"] == "TOO_FEW_SURVEYORS"
    rejected = await ok_step(
        client, hid, "survey", clerk, **{**SURVEY, "outcome": "rejected"}, rejection_reason="有车"
    )
    assert rejected["poverty_state"] == "rejected"
    again = await step(client, hid, "appraise", clerk, **MEETING)
    assert again.status_code == 409
    # a rejected household may apply again in a later cycle
    assert (await ok_step(client, hid, "apply", clerk))["poverty_state"] == "applied"

    history = (await client.get(f"/households/{hid}/history", headers=clerk)).json()
    assert [e["after"]["poverty_state"] for e in history[1:]] == ["applied", "rejected", "applied"]


async def test_quorum_follows_village_population_and_policy(client, auth_keys, registry_app):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    admin = auth_keys.headers("county_admin", COUNTY)

    async def appraise_with(attendees: int, population: int | None):
        async with registry_app.state.runtime.sessionmaker() as session:
            await session.execute(
                update(Region).where(Region.code == VILLAGE).values(population=population)
            )
            await session.commit()
        hid = await new_candidate(client, clerk)
        await ok_step(client, hid, "apply", clerk)
        await ok_step(client, hid, "survey", clerk, **SURVEY)
        meeting = {"attendees": attendees, "votes_for": attendees, "votes_against": 0}
        return await step(client, hid, "appraise", clerk, **meeting)

    refused = await appraise_with(29, None)  # unknown size → the stricter band
    assert refused.status_code == 409 and refused.json()["code"] == "QUORUM_NOT_MET"
    assert refused.json()["errors"][0]["field"] == "body.attendees"
    assert (await appraise_with(29, 1000)).status_code == 409  # 1000人以上 includes 1000
    assert (await appraise_with(20, 999)).status_code == 200
    assert (await appraise_with(19, 999)).status_code == 409
    await client.put(
        "/policy/identification.quorum.small_village",
        json={"region_code": COUNTY, "year": 2020, "value": 22, "reason": "县文件"},
        headers=admin,
    )
    assert (await appraise_with(21, 999)).status_code == 409
    quorate = await appraise_with(22, 999)
    assert quorate.json()["poverty_state"] == "appraised"


async def test_objection_blocks_the_next_step_until_resolved(client, auth_keys, registry_app):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    set_today(registry_app, MAY_23)
    hid = await new_candidate(client, clerk)
    await to_village_publicity(client, hid, clerk)
    window = await open_publicity(client, hid, clerk)

    filed = await client.post(
        f"/publicities/{window['id']}/objections",
        json={"channel": "phone_12317", "content": "该户有小汽车"},
        headers=clerk,
    )
    assert filed.status_code == 201, filed.text
    set_today(registry_app, dt.date(2026, 5, 30))  # window over, objection still open
    late = await client.post(
        f"/publicities/{window['id']}/objections", json={"content": "迟到的异议"}, headers=clerk
    )
    assert late.status_code == 409 and late.json()["code"] == "PUBLICITY_CLOSED"
    blocked = await step(client, hid, "township_review", clerk, **REVIEW)
    assert blocked.status_code == 409 and blocked.json()["code"] == "OBJECTION_PENDING"

    resolution = {
        "outcome": "dismissed",
        "finding": "车辆登记在外出务工的亲属名下",
        "evidence": [{"name": "核实记录", "sha256": "b" * 64, "location": "archive://1"}],
    }
    dismissed = await client.post(
        f"/objections/{filed.json()['id']}/resolution", json=resolution, headers=clerk
    )
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    twice = await client.post(
        f"/objections/{filed.json()['id']}/resolution", json=resolution, headers=clerk
    )
    assert twice.status_code == 409
    await ok_step(client, hid, "township_review", clerk, **REVIEW)


async def test_upheld_objection_sends_back_to_survey_and_a_new_full_window(
    client, auth_keys, registry_app
):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    set_today(registry_app, MAY_23)
    hid = await new_candidate(client, clerk)
    await to_village_publicity(client, hid, clerk)
    window = await open_publicity(client, hid, clerk)
    filed = (
        await client.post(
            f"/publicities/{window['id']}/objections",
            json={"content": "收入不实", "filed_by": "村民甲"},
            headers=clerk,
        )
    ).json()
    evidence = [{"name": "核实记录", "sha256": "c" * 64, "location": "archive://2"}]
    no_consequence = await client.post(
        f"/objections/{filed['id']}/resolution",
        json={"outcome": "upheld", "finding": "属实", "evidence": evidence},
        headers=clerk,
    )
    assert no_consequence.status_code == 422
    upheld = await client.post(
        f"/objections/{filed['id']}/resolution",
        json={
            "outcome": "upheld",
            "finding": "属实",
            "consequence": "resurvey",
            "evidence": evidence,
        },
        headers=clerk,
    )
    assert upheld.status_code == 200, upheld.text
    household = (await client.get(f"/households/{hid}", headers=clerk)).json()
    assert (household["poverty_state"], household["stage"]) == ("surveyed", None)
    statuses = [
        p["status"]
        for p in (await client.get(f"/households/{hid}/publicities", headers=clerk)).json()
    ]
    assert statuses == ["withdrawn"]

    set_today(registry_app, dt.date(2026, 5, 26))
    await ok_step(client, hid, "survey", clerk, **SURVEY)
    await ok_step(client, hid, "appraise", clerk, **MEETING)
    await ok_step(client, hid, "publicise", clerk)
    again = await open_publicity(client, hid, clerk)
    assert (again["start_date"], again["end_date"]) == ("2026-05-26", "2026-06-01")
