"""义务教育有保障 of a household: the summary the gateway asks (exact at any moment), and
``education.household.education_assessed`` published once per change, never on a no-op."""

from __future__ import annotations

import datetime as dt
import uuid

from education_testdata import student_body
from gateway_testdata import event, publish
from sqlalchemy import text
from test_students import OTHER_TOWNSHIP, a_household

from contracts.events import registry as registry_events
from devstack.registry_payloads import VILLAGE, registry_member
from devstack.testing import eventually, running
from education.config import EducationSettings
from education.households.service import EducationAssessor
from education.main import create_app
from kit.clock import Clock, FixedClock
from kit.db import create_sessionmaker
from kit.schedule import seconds_until


async def _household_of(app, person_id: str) -> str:
    async with app.state.runtime.engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    text("SELECT household_id FROM persons WHERE id = :id"), {"id": person_id}
                )
            ).scalar_one()
        )


async def _assessed(app, household_id: str) -> list[tuple]:
    """The household's education_assessed events: (sequence, status, reason, counts)."""
    async with app.state.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT envelope FROM outbox WHERE aggregate_id = :id "
                    "AND event_type LIKE '%education_assessed%' ORDER BY position"
                ),
                {"id": household_id},
            )
        ).scalars()
        return [
            (
                e["sequence"],
                e["data"]["education"]["status"],
                e["data"]["education"]["reason"],
                tuple(
                    e["data"][n]
                    for n in ("compulsory_age", "in_school", "dropped_out", "unmatched")
                ),
            )
            for e in rows
        ]


async def test_the_summary_follows_age_and_school_at_the_boundaries(
    client, education_app, auth_keys
):
    clock = education_app.state.clock = FixedClock(dt.date(2026, 12, 9))
    # 马小军 turns 6 on 10 December; 马小花 turned 16 on 1 October, mid-term.
    _, young, older = await a_household(education_app, "马建国", "马小军", "马小花")
    async with education_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE persons SET birth_date = :born WHERE id = :id"),
            [
                {"id": young, "born": dt.date(2020, 12, 10)},
                {"id": older, "born": dt.date(2010, 10, 1)},
            ],
        )
    hid = await _household_of(education_app, young)
    officer = auth_keys.headers("education_officer", VILLAGE)
    status = auth_keys.headers("dashboard", VILLAGE)
    url = f"/households/{hid}/summary"

    async def summary():
        response = await client.get(url, headers=status)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["dimensions"]["education"], body["facts"]

    # 16 since October, but 15 when the autumn term started: still owed the term.
    dimension, facts = await summary()
    assert (dimension["status"], dimension["reason"]) == ("unknown", "NO_STUDENT_RECORD")
    assert (facts["compulsory_age"], facts["unmatched"]) == (1, 1)
    high = student_body(older, school_name="广河县第二中学", stage="junior", grade=3)
    student = (await client.post("/students", json=high, headers=officer)).json()
    dimension, facts = await summary()
    assert dimension["status"] == "ok" and facts["in_school"] == 1

    clock.set(dt.date(2026, 12, 10))  # 马小军's 6th birthday, no 学籍 yet
    dimension, facts = await summary()
    assert (dimension["status"], dimension["reason"]) == ("unknown", "NO_STUDENT_RECORD")
    assert facts == {
        "compulsory_age": 2,
        "in_school": 1,
        "dropped_out": 0,
        "out_of_school": 0,
        "unmatched": 1,
    }
    await client.post("/students", json=student_body(young, grade=1), headers=officer)
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-12-10"}
    changed = await client.patch(f"/students/{student['id']}", json=dropped, headers=officer)
    assert changed.status_code == 200, changed.text
    dimension, facts = await summary()
    assert (dimension["status"], dimension["reason"]) == ("not_ok", "DROPOUT")
    assert dimension["detail"] == "1 compulsory-age child(ren) dropped out"
    assert (facts["compulsory_age"], facts["in_school"], facts["dropped_out"]) == (2, 1, 1)

    # The spring term starts: 马小花 was 16 at its start, her compulsory education is over.
    clock.set(dt.date(2027, 3, 1))
    dimension, facts = await summary()
    assert dimension["status"] == "ok" and facts["compulsory_age"] == 1

    # Region scoping: another township's officer sees no such household; nor is there one.
    elsewhere = auth_keys.headers("dashboard", OTHER_TOWNSHIP)
    assert (await client.get(url, headers=elsewhere)).status_code == 404
    unknown = await client.get(f"/households/{uuid.uuid4()}/summary", headers=status)
    assert unknown.status_code == 404
    health_officer = auth_keys.headers("health_officer", VILLAGE)  # status:read, any department
    assert (await client.get(url, headers=health_officer)).status_code == 200


async def test_the_assessment_is_published_once_per_change(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(dt.date(2026, 12, 9))
    _, child = await a_household(education_app, "马建国", "马小军")  # 10 years old
    hid = await _household_of(education_app, child)
    officer = auth_keys.headers("education_officer", VILLAGE)
    created = await client.post("/students", json=student_body(child), headers=officer)
    url = f"/students/{created.json()['id']}"
    # A change that leaves the dimension and its counts alone publishes nothing.
    regraded = await client.patch(url, json={"grade": 4}, headers=officer)
    assert regraded.status_code == 200 and regraded.json()["version"] == 2
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-12-01"}
    assert (await client.patch(url, json=dropped, headers=officer)).status_code == 200
    back = {"enrolment_status": "enrolled", "status_since": "2026-12-08"}
    assert (await client.patch(url, json=back, headers=officer)).status_code == 200
    assert (await client.patch(url, json={"grade": 5}, headers=officer)).status_code == 200

    assert await _assessed(education_app, hid) == [
        (1, "ok", None, (1, 1, 0, 0)),
        (2, "not_ok", "DROPOUT", (1, 0, 1, 0)),
        (3, "ok", None, (1, 1, 0, 0)),
    ]
    async with education_app.state.runtime.engine.connect() as conn:
        stored = (
            (
                await conn.execute(
                    text("SELECT * FROM education_assessments WHERE household_id = :id"),
                    {"id": hid},
                )
            )
            .mappings()
            .one()
        )
    assert (stored["status"], stored["version"], stored["in_school"]) == ("ok", 3, 1)


async def test_a_change_of_the_members_reassesses_the_household(
    client, education_app, js, auth_keys
):
    """The registry's events reach the persons read model, whose hook reassesses: a child
    of compulsory age born into the records, then leaving the household."""
    education_app.state.clock = FixedClock(dt.date(2026, 12, 9))
    hid = uuid.uuid4()
    head = registry_member("马建国", "head")
    child = registry_member("马小军", "child", birth_date="2016-05-01")
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=[head, child])
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    first = await eventually(
        lambda: _assessed(education_app, str(hid)), until=lambda events: len(events) == 1
    )
    assert first == [(1, "unknown", "NO_STUDENT_RECORD", (1, 0, 0, 1))]

    _, updated = event(
        registry_events.HOUSEHOLD_UPDATED, hid, 2, members=[head], changed=["members"]
    )
    await publish(js, registry_events.HOUSEHOLD_UPDATED, updated)
    events = await eventually(
        lambda: _assessed(education_app, str(hid)), until=lambda events: len(events) == 2
    )
    assert events[1] == (2, "ok", None, (0, 0, 0, 0))


async def test_the_daily_reassessment_catches_up_with_age(client, education_app, auth_keys):
    """Nothing changes in the records when a child turns 6: the daily run publishes it,
    once."""
    clock = education_app.state.clock = FixedClock(dt.date(2026, 12, 9))
    _, child = await a_household(education_app, "马建国", "马小军", child_born="2020-12-10")
    hid = await _household_of(education_app, child)
    sessions = create_sessionmaker(education_app.state.runtime.engine)
    assessor = EducationAssessor(clock)
    assert await assessor.reassess_everyone(sessions, batch=2) >= 1
    assert await _assessed(education_app, hid) == [(1, "ok", None, (0, 0, 0, 0))]
    await assessor.reassess_everyone(sessions, batch=2)
    assert len(await _assessed(education_app, hid)) == 1  # nothing changed: nothing published

    clock.set(dt.date(2026, 12, 10))
    await assessor.reassess_everyone(sessions, batch=2)
    assert await _assessed(education_app, hid) == [
        (1, "ok", None, (0, 0, 0, 0)),
        (2, "unknown", "NO_STUDENT_RECORD", (1, 0, 0, 1)),
    ]


async def test_the_service_runs_the_reassessment_itself_each_day(stack):
    """The running service reassesses every household at ``reassess_at`` (kit.schedule):
    a household learnt with no assessment yet gets its first then."""
    clock = Clock()
    soon = (clock.now().astimezone(clock.zone) + dt.timedelta(seconds=3)).time()
    settings = EducationSettings(**await stack.settings_for("education"), reassess_at=soon)
    app = create_app(settings)
    async with running(app):
        _, child = await a_household(app, "马建国", "马小军")  # the persons only, not assessed
        hid = await _household_of(app, child)
        assert await _assessed(app, hid) == []
        first = await eventually(lambda: _assessed(app, hid), until=lambda events: len(events))
    assert [status for _, status, _, _ in first] == ["unknown"]  # no 学籍 matched yet


def test_a_daily_job_waits_for_its_next_time_of_day():
    zone = Clock().zone
    now = dt.datetime(2026, 12, 5, 0, 20, tzinfo=zone)
    assert seconds_until(now, dt.time(0, 30)) == 600
    assert seconds_until(now, dt.time(0, 20)) == 24 * 3600  # just now: tomorrow
    assert seconds_until(now, dt.time(0, 10)) == 24 * 3600 - 600
