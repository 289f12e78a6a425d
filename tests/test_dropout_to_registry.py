"""A compulsory-age child's dropout recorded in education reaches the registry over the real
bus as exactly one 辍学 monitoring alert (控辍保学, 防返贫监测)."""

from __future__ import annotations

import contextlib

import pytest_asyncio
from education_testdata import household_with_a_pupil
from registry_testdata import seed_regions
from sqlalchemy import text

from devstack.testing import eventually, running
from education.config import EducationSettings
from education.main import create_app as create_education
from registry.config import RegistrySettings
from registry.main import create_app as create_registry


@pytest_asyncio.fixture
async def services(stack):
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    education_app = create_education(EducationSettings(**await stack.settings_for("education")))
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(running(registry_app))
        education = await exits.enter_async_context(running(education_app))
        await seed_regions(registry_app)
        yield registry, education, registry_app


async def test_a_compulsory_age_dropout_raises_one_registry_alert(services, auth_keys):
    registry, education, registry_app = services
    headers = auth_keys.headers()  # the county's poverty office (扶贫办)
    officer = auth_keys.headers("education_officer")
    body = household_with_a_pupil()
    created = await registry.post("/households", json=body, headers=headers)
    assert created.status_code == 201, created.text
    household = created.json()
    child = next(m for m in household["members"] if m["name"] == "马小军")
    # Education learns the child from the registry's events, a moment later.
    registered = await eventually(
        lambda: education.post(
            "/students",
            json={
                "person_id": child["id"],
                "school_name": "广河县城关小学",
                "stage": "primary",
                "grade": 4,
                "status_since": "2026-09-01",
                "responsible_teacher": "王老师",
            },
            headers=officer,
        ),
        until=lambda r: r.status_code == 201,
    )
    student = registered.json()
    dropped = await education.patch(
        f"/students/{student['id']}",
        json={"enrolment_status": "dropped_out", "status_since": "2026-10-08"},
        headers=officer,
    )
    assert dropped.status_code == 200, dropped.text

    async def alerts():
        response = await registry.get(
            "/alerts", params={"household_id": household["id"], "kind": "dropout"}, headers=headers
        )
        return response.json()["items"]

    raised = await eventually(alerts, until=lambda items: len(items) >= 1)
    assert raised[0]["kind"] == "dropout"

    async def education_events_read() -> int:
        async with registry_app.state.runtime.engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM inbox WHERE consumer = 'registry-education' "
                        "AND event_type LIKE '%.education.student.%'"
                    )
                )
            ).scalar_one()

    # Once the registry has read all three of the student's events (registered, updated,
    # dropped_out), still exactly one alert.
    await eventually(education_events_read, until=lambda n: n == 3)
    assert len(await alerts()) == 1
