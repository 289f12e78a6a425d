"""Students (学籍): registered for registry persons in the caller's region, one record a
person, changed through the one write path with their events."""

from __future__ import annotations

import uuid
from typing import Any

from education_testdata import student_body
from sqlalchemy import text

from contracts.events import registry as registry_events
from devstack.registry_payloads import VILLAGE, registry_household, registry_member
from education.records import registry_persons

OTHER_TOWNSHIP = "622924101000"


async def a_household(
    app, *names: str, child_born: str = "2016-05-01", **household: Any
) -> list[str]:
    """A registry household as education learns it (the persons library), its member ids;
    its children born on ``child_born``; ``household`` overrides the snapshot's fields
    (``region_code``, ``poverty_state``, ...)."""
    members = [
        registry_member(name, "head", birth_date="1980-01-01")
        if i == 0
        else registry_member(name, "child", birth_date=child_born)
        for i, name in enumerate(names)
    ]
    snapshot = registry_events.HouseholdSnapshot.model_validate(
        registry_household(uuid.uuid4(), members=members, **household)
    )
    async with app.state.runtime.sessionmaker() as session, session.begin():
        await registry_persons.apply_households(session, [snapshot])
    return [str(m.member_id) for m in snapshot.members]


async def test_a_student_is_registered_once_and_changed_with_its_events(
    client, education_app, auth_keys
):
    _, child = await a_household(education_app, "马建国", "马小军")
    officer = auth_keys.headers("education_officer", VILLAGE)
    body = student_body(child, boarding=True)
    created = await client.post("/students", json=body, headers=officer)
    assert created.status_code == 201, created.text
    student = created.json()
    assert (student["person_name"], student["enrolment_status"], student["version"]) == (
        "马小军",
        "enrolled",
        1,
    )
    again = await client.post("/students", json=body, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "STUDENT_EXISTS"

    # Outside the caller's region the person and the student are as absent.
    elsewhere = auth_keys.headers("education_officer", OTHER_TOWNSHIP)
    response = await client.post("/students", json=body, headers=elsewhere)
    assert response.status_code == 422 and response.json()["code"] == "UNKNOWN_PERSON"
    assert (await client.get(f"/students/{student['id']}", headers=elsewhere)).status_code == 404
    listed = await client.get("/students", headers=elsewhere)
    assert listed.status_code == 200 and listed.json()["total"] == 0

    url = f"/students/{student['id']}"
    undated = await client.patch(url, json={"enrolment_status": "dropped_out"}, headers=officer)
    assert undated.status_code == 422 and undated.json()["code"] == "STATUS_DATE_REQUIRED"
    future = {"enrolment_status": "dropped_out", "status_since": "2999-01-01"}
    assert (await client.patch(url, json=future, headers=officer)).status_code == 422
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-10-08"}
    changed = await client.patch(url, json=dropped, headers=officer)
    assert changed.status_code == 200, changed.text
    # Two events: the record as it is now, and the dropout (控辍保学) for the registry and
    # the gateway.
    assert (changed.json()["enrolment_status"], changed.json()["version"]) == ("dropped_out", 3)
    same = await client.patch(url, json=dropped, headers=officer)  # nothing new: no event
    assert same.json()["version"] == 3

    found = await client.get(
        "/students", params={"enrolment_status": "dropped_out"}, headers=officer
    )
    assert [s["id"] for s in found.json()["items"]] == [student["id"]]
    async with education_app.state.runtime.engine.connect() as conn:
        events = (
            await conn.execute(
                text(
                    "SELECT event_type, envelope FROM outbox WHERE aggregate_id = :id "
                    "ORDER BY position"
                ),
                {"id": student["id"]},
            )
        ).all()
        assert [e.rsplit(".", 2)[-2] for e, _ in events] == [
            "registered",
            "updated",
            "dropped_out",
        ]
        # Ten years old on the day: of compulsory age (控辍保学), for the registry's alert.
        dropout = events[-1][1]["data"]
        assert (dropout["compulsory"], dropout["dropped_out_on"]) == (True, "2026-10-08")
        assert [e["sequence"] for _, e in events] == [1, 2, 3]
        audited = (
            await conn.execute(
                text("SELECT count(*) FROM audit_log WHERE entity_id = :id"), {"id": student["id"]}
            )
        ).scalar_one()
    assert audited == 2


async def test_bad_input_is_a_clear_4xx(client, education_app, auth_keys):
    (head,) = await a_household(education_app, "马建国")
    officer = auth_keys.headers("education_officer", VILLAGE)
    for bad, field in (
        ({"grade": 13}, "body.grade"),
        ({"stage": "kindergarten"}, "body.stage"),
        ({"school_name": " "}, "body.school_name"),
    ):
        body = student_body(head, **bad)
        response = await client.post("/students", json=body, headers=officer)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == field
    reader = auth_keys.headers("health_officer", VILLAGE)  # no education scopes
    assert (await client.get("/students", headers=reader)).status_code == 403


async def test_concurrent_registrations_of_one_person_give_one_student(
    client, education_app, auth_keys
):
    import asyncio

    (head,) = await a_household(education_app, "马建国")
    officer = auth_keys.headers("education_officer", VILLAGE)
    body = student_body(head, school_name="广河县第一中学", stage="senior_high", grade=1)
    answers = await asyncio.gather(
        *(client.post("/students", json=body, headers=officer) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"STUDENT_EXISTS"}


async def test_a_dropout_past_junior_high_is_not_of_compulsory_age(
    client, education_app, auth_keys
):
    _, child = await a_household(education_app, "马建国", "马小花", child_born="2009-03-01")
    officer = auth_keys.headers("education_officer", VILLAGE)
    body = student_body(child, school_name="广河县第一中学", stage="senior_high", grade=2)
    student = (await client.post("/students", json=body, headers=officer)).json()
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-10-08"}
    response = await client.patch(f"/students/{student['id']}", json=dropped, headers=officer)
    assert response.status_code == 200, response.text
    async with education_app.state.runtime.engine.connect() as conn:
        envelope = (
            await conn.execute(
                text(
                    "SELECT envelope FROM outbox WHERE aggregate_id = :id "
                    "AND event_type LIKE '%dropped_out%'"
                ),
                {"id": student["id"]},
            )
        ).scalar_one()
    assert (envelope["data"]["compulsory"], envelope["data"]["stage"]) == (False, "senior_high")


async def test_an_alternative_mode_needs_its_evidence(client, education_app, auth_keys):
    _, child = await a_household(education_app, "马建国", "马小强")
    officer = auth_keys.headers("education_officer", VILLAGE)
    body = student_body(
        child, school_name="广河县特殊教育学校", grade=2, enrolment_status="home_teaching"
    )
    refused = await client.post("/students", json=body, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "EVIDENCE_REQUIRED"
    listed = await client.get("/students", params={"person_id": child}, headers=officer)
    assert listed.json()["total"] == 0  # nothing stored
    evidenced = {**body, "evidence": "送教上门 登记表 2026-017"}
    created = await client.post("/students", json=evidenced, headers=officer)
    assert created.status_code == 201, created.text
    url = f"/students/{created.json()['id']}"
    # A change of another field keeps the evidence …
    cleared = await client.patch(url, json={"school_name": "广河县第二小学"}, headers=officer)
    assert cleared.status_code == 200 and cleared.json()["evidence"] == "送教上门 登记表 2026-017"
    # … and a change to another alternative mode keeps it.
    distance = {"enrolment_status": "distance", "status_since": "2026-10-01"}
    moved = await client.patch(url, json=distance, headers=officer)
    assert moved.status_code == 200 and moved.json()["enrolment_status"] == "distance"
