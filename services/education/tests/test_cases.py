"""劝返 cases (控辍保学, DOMAIN §3.1): a compulsory-age dropout opens exactly one case in its
own transaction; visits, changes and closing with each outcome go through the one write
path; the overdue list follows the clock; a township sees only its own."""

from __future__ import annotations

import datetime as dt

import pytest
from education_testdata import COUNTY, OTHER_COUNTY, TOWNSHIP
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from test_students import OTHER_TOWNSHIP, a_household, student_body

from devstack.registry_payloads import VILLAGE
from kit.clock import FixedClock

TODAY = dt.date(2026, 10, 10)
DROPPED = {"enrolment_status": "dropped_out", "status_since": "2026-10-08"}


async def a_dropout(
    client, app, officer, name: str = "马小军", born: str = "2016-05-01", **student
) -> dict:
    """A primary-school pupil (unless ``student`` says otherwise) who dropped out on 8
    October: their student record."""
    _, child = await a_household(app, "马建国", name, child_born=born)
    body = student_body(child, **student)
    created = await client.post("/students", json=body, headers=officer)
    assert created.status_code == 201, created.text
    changed = await client.patch(f"/students/{created.json()['id']}", json=DROPPED, headers=officer)
    assert changed.status_code == 200, changed.text
    return changed.json()


async def a_senior_high_dropout(client, app, officer) -> dict:
    """A 17-year-old who left senior high: past compulsory age, so no case opens by itself."""
    return await a_dropout(
        client,
        app,
        officer,
        "马小花",
        born="2009-03-01",
        school_name="广河县第一中学",
        stage="senior_high",
        grade=2,
    )


async def case_of(client, student: dict, headers) -> dict:
    found = await client.get("/cases", params={"person_id": student["person_id"]}, headers=headers)
    assert found.status_code == 200, found.text
    (case,) = found.json()["items"]
    return case


async def events_of(app, aggregate_id: str) -> list[tuple[str, dict]]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, envelope FROM outbox WHERE aggregate_id = :id ORDER BY position"
            ),
            {"id": aggregate_id},
        )
        return [(kind.split(".")[-2], envelope) for kind, envelope in rows]


async def test_a_compulsory_age_dropout_opens_exactly_one_case(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_dropout(client, education_app, officer)
    case = await case_of(client, student, officer)
    assert (case["status"], case["student_id"], case["responsible_person"]) == (
        "open",
        student["id"],
        "王老师",  # the student's responsible teacher (一生一责任人)
    )
    # Opened the day the dropout was recorded, due the policy's 30 days later.
    assert (case["opened_on"], case["due_on"], case["overdue"]) == (
        "2026-10-10",
        "2026-11-09",
        False,
    )
    assert (case["person_name"], case["visits"], case["version"]) == ("马小军", 0, 1)
    [(kind, envelope)] = await events_of(education_app, case["id"])
    assert (kind, envelope["sequence"], envelope["data"]["status"]) == ("opened", 1, "open")

    # A second case of the student, by hand: refused while the first is open.
    again = await client.post("/cases", json={"student_id": student["id"]}, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "CASE_EXISTS"
    # The same dropout recorded again changes nothing, and opens nothing.
    url = f"/students/{student['id']}"
    assert (await client.patch(url, json=DROPPED, headers=officer)).status_code == 200
    listed = await client.get("/cases", params={"person_id": student["person_id"]}, headers=officer)
    assert listed.json()["total"] == 1

    # A student unknown here, or outside the caller's region, is the body's fault.
    elsewhere = auth_keys.headers("education_officer", OTHER_TOWNSHIP)
    for headers in (officer, elsewhere):
        unknown = {"student_id": student["id"] if headers is elsewhere else case["id"]}
        refused = await client.post("/cases", json=unknown, headers=headers)
        assert refused.status_code == 422 and refused.json()["code"] == "UNKNOWN_STUDENT"
    # An enrolled student has nobody to bring back.
    _, pupil = await a_household(education_app, "马建华", "马小红")
    enrolled = (await client.post("/students", json=student_body(pupil), headers=officer)).json()
    refused = await client.post("/cases", json={"student_id": enrolled["id"]}, headers=officer)
    assert refused.status_code == 409 and refused.json()["code"] == "STUDENT_IN_SCHOOL"


async def test_a_student_registered_as_dropped_out_is_a_dropout_too(
    client, education_app, auth_keys
):
    """A 学籍 first recorded as dropped out (a roster lists the child so) raises the same
    dropout event and opens the same case as a change to it."""
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    _, child = await a_household(education_app, "马建国", "马小兰")
    created = await client.post("/students", json=student_body(child, **DROPPED), headers=officer)
    assert created.status_code == 201, created.text
    student = created.json()
    kinds = [kind for kind, _ in await events_of(education_app, student["id"])]
    assert kinds == ["registered", "dropped_out"]
    case = await case_of(client, student, officer)
    assert (case["status"], case["opened_on"]) == ("open", "2026-10-10")


async def test_a_dropout_past_compulsory_age_opens_a_case_only_by_hand(
    client, education_app, auth_keys
):
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    student = await a_senior_high_dropout(client, education_app, officer)
    listed = await client.get("/cases", params={"person_id": student["person_id"]}, headers=officer)
    assert listed.json()["total"] == 0
    by_hand = {
        "student_id": student["id"],
        "responsible_person": "李主任",
        "opened_on": "2026-10-09",
    }
    future = {**by_hand, "opened_on": "2026-10-11"}
    refused = await client.post("/cases", json=future, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "FUTURE_DATE"
    opened = await client.post("/cases", json=by_hand, headers=officer)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["responsible_person"], case["due_on"], case["visit_log"]) == (
        "李主任",
        "2026-11-08",
        [],
    )


async def test_visits_and_changes_of_a_case(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    case = await case_of(client, await a_dropout(client, education_app, officer), officer)
    url = f"/cases/{case['id']}"
    visit = {
        "visited_on": "2026-10-10",
        "visited_by": "王老师",
        "notes": "家长同意下周一送孩子返校",
        "next_step": "周一到校核实",
    }
    for bad, code in (
        ({"visited_on": "2026-10-09"}, "DATE_BEFORE_OPENING"),
        ({"visited_on": "2026-10-11"}, "FUTURE_DATE"),
    ):
        refused = await client.post(f"{url}/visits", json={**visit, **bad}, headers=officer)
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
        assert refused.json()["errors"][0]["field"] == "body.visited_on"
    first = await client.post(f"{url}/visits", json=visit, headers=officer)
    assert first.status_code == 201, first.text
    assert (first.json()["visits"], len(first.json()["visit_log"])) == (1, 1)
    education_app.state.clock.set(dt.date(2026, 10, 15))
    second = {"visited_on": "2026-10-15", "visited_by": "村干部 马主任", "notes": "未返校"}
    assert (await client.post(f"{url}/visits", json=second, headers=officer)).status_code == 201

    early = await client.patch(url, json={"due_on": "2026-10-01"}, headers=officer)
    assert early.status_code == 422 and early.json()["code"] == "DATE_BEFORE_OPENING"
    change = {"responsible_person": "马主任", "due_on": "2026-11-30"}
    changed = await client.patch(url, json=change, headers=officer)
    assert changed.status_code == 200, changed.text
    assert (await client.patch(url, json=change, headers=officer)).json()["version"] == 4

    read = (await client.get(url, headers=officer)).json()
    assert (read["responsible_person"], read["due_on"], read["visits"]) == (
        "马主任",
        "2026-11-30",
        2,
    )
    assert [(v["visited_on"], v["visited_by"], v["next_step"]) for v in read["visit_log"]] == [
        ("2026-10-10", "王老师", "周一到校核实"),
        ("2026-10-15", "村干部 马主任", None),
    ]
    events = await events_of(education_app, case["id"])
    assert [(kind, e["sequence"], e["data"]["visits"]) for kind, e in events] == [
        ("opened", 1, 0),
        ("updated", 2, 1),
        ("updated", 3, 2),
        ("updated", 4, 2),  # the unchanged PATCH published nothing
    ]


async def test_closing_with_each_outcome_and_the_refusals(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)

    # returned (劝返复学): the 学籍 must show the student enrolled again.
    student = await a_dropout(client, education_app, officer)
    case = await case_of(client, student, officer)
    close = f"/cases/{case['id']}/close"
    early = await client.post(close, json={"outcome": "returned"}, headers=officer)
    assert early.status_code == 409 and early.json()["code"] == "OUTCOME_NOT_MET"
    back = {"enrolment_status": "enrolled", "status_since": "2026-10-10"}
    assert (
        await client.patch(f"/students/{student['id']}", json=back, headers=officer)
    ).status_code == 200
    before = {"outcome": "returned", "closed_on": "2026-10-09"}
    refused = await client.post(close, json=before, headers=officer)
    assert refused.status_code == 422 and refused.json()["code"] == "DATE_BEFORE_OPENING"
    closed = await client.post(close, json={"outcome": "returned"}, headers=officer)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"], closed.json()["closed_on"]) == (
        "closed",
        "returned",
        "2026-10-10",
    )
    # A closed case takes nothing more.
    for path, body in (
        (close, {"outcome": "returned"}),
        (
            f"/cases/{case['id']}/visits",
            {"visited_on": "2026-10-10", "visited_by": "王老师", "notes": "x"},
        ),
    ):
        response = await client.post(path, json=body, headers=officer)
        assert response.status_code == 409 and response.json()["code"] == "CASE_CLOSED"
    late = await client.patch(
        f"/cases/{case['id']}", json={"due_on": "2026-12-01"}, headers=officer
    )
    assert late.status_code == 409
    [*_, (kind, envelope)] = await events_of(education_app, case["id"])
    assert (kind, envelope["data"]["outcome"], envelope["data"]["closed_on"]) == (
        "closed",
        "returned",
        "2026-10-10",
    )
    # Dropping out again opens a new case: one open at a time, not one ever.
    await client.patch(
        f"/students/{student['id']}", json=DROPPED | {"status_since": "2026-10-10"}, headers=officer
    )
    cases = await client.get("/cases", params={"person_id": student["person_id"]}, headers=officer)
    assert sorted(c["status"] for c in cases.json()["items"]) == ["closed", "open"]

    # alternative_mode: evidence on the case, and the 学籍 in an evidenced alternative mode.
    student = await a_dropout(client, education_app, officer, "马小强")
    close = f"/cases/{(await case_of(client, student, officer))['id']}/close"
    bare = await client.post(close, json={"outcome": "alternative_mode"}, headers=officer)
    assert bare.status_code == 422 and bare.json()["code"] == "OUTCOME_EVIDENCE_REQUIRED"
    evidenced = {"outcome": "alternative_mode", "evidence": "送教上门 审批表 2026-031"}
    early = await client.post(close, json=evidenced, headers=officer)
    assert early.status_code == 409 and early.json()["code"] == "OUTCOME_NOT_MET"
    home = {
        "enrolment_status": "home_teaching",
        "status_since": "2026-10-10",
        "evidence": "送教上门 登记表 2026-031",
    }
    assert (
        await client.patch(f"/students/{student['id']}", json=home, headers=officer)
    ).status_code == 200
    closed = await client.post(close, json=evidenced, headers=officer)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["outcome"], closed.json()["evidence"]) == (
        "alternative_mode",
        "送教上门 审批表 2026-031",
    )

    # exempt (免于入学): its evidence; the 学籍 stays as it is.
    student = await a_dropout(client, education_app, officer, "马小丽")
    close = f"/cases/{(await case_of(client, student, officer))['id']}/close"
    bare = await client.post(close, json={"outcome": "exempt"}, headers=officer)
    assert bare.status_code == 422 and bare.json()["code"] == "OUTCOME_EVIDENCE_REQUIRED"
    exempt = {"outcome": "exempt", "evidence": "县教育局 免于入学 批复 2026-5"}
    closed = await client.post(close, json=exempt, headers=officer)
    assert closed.status_code == 200 and closed.json()["outcome"] == "exempt", closed.text


async def test_the_overdue_list_follows_the_clock(client, education_app, auth_keys):
    clock = education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    late = await case_of(client, await a_dropout(client, education_app, officer), officer)
    done = await a_dropout(client, education_app, officer, "马小丽")
    done_case = await case_of(client, done, officer)
    exempt = {"outcome": "exempt", "evidence": "免于入学 批复"}
    await client.post(f"/cases/{done_case['id']}/close", json=exempt, headers=officer)

    async def overdue() -> list[str]:
        found = await client.get("/cases/overdue", headers=officer)
        assert found.status_code == 200, found.text
        return [c["id"] for c in found.json()["items"]]

    clock.set(dt.date(2026, 11, 9))  # the due day itself: not late yet
    assert await overdue() == []
    clock.set(dt.date(2026, 11, 10))
    assert await overdue() == [late["id"]]  # the closed case is never overdue
    listed = await client.get("/cases", params={"overdue": "true"}, headers=officer)
    assert [(c["id"], c["overdue"]) for c in listed.json()["items"]] == [(late["id"], True)]
    on_time = await client.get("/cases", params={"overdue": "false"}, headers=officer)
    assert [c["id"] for c in on_time.json()["items"]] == [done_case["id"]]
    closed = await client.get("/cases", params={"status": "closed"}, headers=officer)
    assert [c["id"] for c in closed.json()["items"]] == [done_case["id"]]

    # A later due date takes the case off the list.
    moved = await client.patch(
        f"/cases/{late['id']}", json={"due_on": "2026-11-30"}, headers=officer
    )
    assert moved.status_code == 200 and moved.json()["overdue"] is False
    assert await overdue() == []


async def test_the_due_days_are_the_policys_of_the_region_and_year(
    client, education_app, auth_keys
):
    education_app.state.clock = FixedClock(TODAY)
    admin = auth_keys.headers("county_admin", COUNTY)
    override = {"region_code": TOWNSHIP, "year": 2026, "value": 15, "reason": "乡镇 控辍保学 方案"}
    changed = await client.put("/policy/cases.due_days", json=override, headers=admin)
    assert changed.status_code == 200, changed.text
    officer = auth_keys.headers("education_officer", VILLAGE)
    case = await case_of(client, await a_dropout(client, education_app, officer), officer)
    assert case["due_on"] == "2026-10-25"


async def test_a_township_sees_only_its_own_cases(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(TODAY)
    village_officer = auth_keys.headers("education_officer", VILLAGE)
    case = await case_of(
        client, await a_dropout(client, education_app, village_officer), village_officer
    )
    township = auth_keys.headers("education_officer", TOWNSHIP)
    listed = await client.get("/cases", headers=township)
    assert [c["id"] for c in listed.json()["items"]] == [case["id"]]
    elsewhere = auth_keys.headers("education_officer", OTHER_TOWNSHIP)
    assert (await client.get("/cases", headers=elsewhere)).json()["total"] == 0
    assert (await client.get(f"/cases/{case['id']}", headers=elsewhere)).status_code == 404
    visit = {"visited_on": "2026-10-10", "visited_by": "王老师", "notes": "x"}
    visited = await client.post(f"/cases/{case['id']}/visits", json=visit, headers=elsewhere)
    assert visited.status_code == 404
    outside = await client.get("/cases/overdue", params={"region": OTHER_COUNTY}, headers=township)
    assert outside.status_code == 403
    reader = auth_keys.headers("health_officer", VILLAGE)  # no education scopes
    assert (await client.get("/cases", headers=reader)).status_code == 403


async def test_concurrent_openings_of_one_students_case_give_one_case(
    client, education_app, auth_keys
):
    import asyncio

    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)
    # Past compulsory age: the dropout opens no case, so each opening is by hand.
    student = await a_senior_high_dropout(client, education_app, officer)
    answers = await asyncio.gather(
        *(
            client.post("/cases", json={"student_id": student["id"]}, headers=officer)
            for _ in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"CASE_EXISTS"}
    # Under the service's check, the database holds the rule too.
    async with education_app.state.runtime.engine.connect() as conn:
        with pytest.raises(IntegrityError, match="dropout_cases_one_open"):
            await conn.execute(
                text(
                    "INSERT INTO dropout_cases (id, student_id, person_id, household_id, "
                    "region_code, responsible_person, opened_on, due_on, status, visits, "
                    "version) SELECT gen_random_uuid(), student_id, person_id, household_id, "
                    "region_code, responsible_person, opened_on, due_on, status, 0, 1 "
                    "FROM dropout_cases WHERE student_id = :id"
                ),
                {"id": student["id"]},
            )
