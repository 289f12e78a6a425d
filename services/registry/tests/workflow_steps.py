"""Driving a household through the workflow in tests."""

from __future__ import annotations

import datetime as dt

from registry_testdata import household_body

from kit.clock import FixedClock

DOC = {"name": "会议记录", "sha256": "a" * 64, "location": "archive://622924/2026/001"}
COUNTY = "622924000000"


def set_today(app, day: dt.date) -> FixedClock:
    clock = app.state.clock
    if not isinstance(clock, FixedClock):
        clock = app.state.clock = FixedClock(day)
    clock.set(day)
    return clock


async def step(client, household_id: str, action: str, headers, **fields):
    return await client.post(
        f"/households/{household_id}/transitions",
        json={"action": action, "evidence": [DOC], **fields},
        headers=headers,
    )


async def ok_step(client, household_id: str, action: str, headers, **fields) -> dict:
    response = await step(client, household_id, action, headers, **fields)
    assert response.status_code == 200, response.text
    return response.json()


async def new_candidate(client, headers, **overrides) -> str:
    body = household_body(poverty_state="candidate", evidence=[], **overrides)
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


SURVEY = {
    "surveyors": ["李调查", "王核实"],
    "findings": "人均纯收入低于标准，因病致贫",
    "outcome": "shortlisted",
}
MEETING = {"attendees": 30, "votes_for": 25, "votes_against": 2}
REVIEW = {"reviewer": "张审核", "opinion": "同意"}


async def to_village_publicity(client, household_id: str, headers) -> dict:
    """candidate → applied → shortlisted → appraised → publicised (village 公示 from today)."""
    await ok_step(client, household_id, "apply", headers)
    await ok_step(client, household_id, "survey", headers, **SURVEY)
    await ok_step(client, household_id, "appraise", headers, **MEETING)
    return await ok_step(client, household_id, "publicise", headers)


async def open_publicity(client, household_id: str, headers) -> dict:
    publicities = (
        await client.get(f"/households/{household_id}/publicities", headers=headers)
    ).json()
    return next(p for p in publicities if p["status"] == "open")


async def to_exit_decision(client, app, household_id: str, headers, start: dt.date) -> None:
    """registered → nominated → village appraisal + 公示 → township check, ready for 县级审定."""
    set_today(app, start)
    await ok_step(client, household_id, "nominate_exit", headers, planned_exit_year=start.year)
    await ok_step(client, household_id, "appraise_exit", headers, **MEETING)
    set_today(app, start + dt.timedelta(days=7))  # the 7-day 公示 is over
    await ok_step(client, household_id, "check_exit", headers, checker="乡审核", opinion="达标")
