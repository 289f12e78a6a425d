"""The education dimension over the real bus: a compulsory-age child's dropout recorded in
education makes the household's 义务教育有保障 not_ok (DROPOUT) in the gateway, and the
child's return to school makes it ok again; the gateway's fresh mode asks education."""

from __future__ import annotations

import datetime as dt
import uuid

import nats
import pytest_asyncio
from education_testdata import household_with_a_pupil, student_body
from gateway_testdata import event, publish

from contracts.events import registry as registry_events
from devstack.registry_payloads import registry_member
from devstack.servers import free_port
from devstack.testing import eventually, running, serving
from education.config import EducationSettings
from education.main import create_app as create_education
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from kit.clock import FixedClock


@pytest_asyncio.fixture
async def education(stack, platform):
    app = create_education(EducationSettings(**await stack.settings_for("education")))
    async with running(app) as client:
        app.state.clock = FixedClock(dt.date(2026, 12, 9))
        yield client


async def test_a_dropout_fails_the_dimension_and_returning_restores_it(
    platform, education, auth_keys
):
    headers = auth_keys.headers()  # the county's poverty office (扶贫办)
    officer = auth_keys.headers("education_officer")
    body = household_with_a_pupil()
    created = await platform.registry.post("/households", json=body, headers=headers)
    assert created.status_code == 201, created.text
    household = created.json()
    child = next(m for m in household["members"] if m["name"] == "马小军")
    url = f"/households/{household['id']}/status"

    async def education_dimension(status: str, reason: str | None = None) -> dict:
        """The gateway's education dimension, once it is ``status`` for ``reason``."""

        def reached(response) -> bool:
            if response.status_code != 200:
                return False
            dimension = response.json()["dimensions"]["education"]
            return (dimension["status"], dimension["reason"]) == (status, reason)

        response = await eventually(
            lambda: platform.gateway.get(url, headers=headers), until=reached
        )
        return response.json()["dimensions"]["education"]

    # Education learns the child from the registry's events: of compulsory age, no 学籍.
    unmatched = await education_dimension("unknown", "NO_STUDENT_RECORD")
    assert unmatched["source"] == "education"
    registered = await education.post("/students", json=student_body(child["id"]), headers=officer)
    assert registered.status_code == 201, registered.text
    await education_dimension("ok")
    student_url = f"/students/{registered.json()['id']}"

    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-10-08"}
    assert (await education.patch(student_url, json=dropped, headers=officer)).status_code == 200
    dropout = await education_dimension("not_ok", "DROPOUT")
    assert dropout["detail"] == "1 compulsory-age child(ren) dropped out"

    back = {"enrolment_status": "enrolled", "status_since": "2026-11-02"}
    assert (await education.patch(student_url, json=back, headers=officer)).status_code == 200
    await education_dimension("ok")

    stats = await platform.gateway.get("/regions/622924000000/stats", headers=headers)
    kpis = stats.json()["kpis"]
    assert (kpis["education.compulsory_age"], kpis["education.in_school"]) == ("1", "1")


async def test_fresh_mode_asks_education_for_the_dimension(stack, auth_keys):
    headers = auth_keys.headers()
    port = free_port()
    education_app = create_education(EducationSettings(**await stack.settings_for("education")))
    gateway_app = create_gateway(
        GatewaySettings(
            **await stack.settings_for("gateway", sources={"education": f"http://127.0.0.1:{port}"})
        )
    )
    async with running(gateway_app) as gateway, serving(education_app, port=port) as education:
        education_app.state.clock = FixedClock(dt.date(2026, 12, 9))
        hid = uuid.uuid4()
        child = registry_member("马小军", "child", birth_date="2016-05-01")
        members = [registry_member("马建国", "head"), child]
        _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=members)
        nc = await nats.connect(stack.nats_url)
        try:
            await publish(nc.jetstream(), registry_events.HOUSEHOLD_CREATED, created)
        finally:
            await nc.close()
        url = f"/households/{hid}/status"
        await eventually(
            lambda: gateway.get(url, headers=headers),
            until=lambda r: (
                r.status_code == 200
                and r.json()["dimensions"]["education"]["reason"] == "NO_STUDENT_RECORD"
            ),
        )
        registered = await education.post(
            "/students",
            json=student_body(str(child["member_id"])),
            headers=auth_keys.headers("education_officer"),
        )
        assert registered.status_code == 201, registered.text
        # Asked at once, education answers with the dimension as it is now.
        fresh = (await gateway.get(url, params={"fresh": "true"}, headers=headers)).json()
        assert fresh["sources"]["education"]["status"] == "answered"
        assert fresh["dimensions"]["education"]["status"] == "ok"
