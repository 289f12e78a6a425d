"""A dialysis patient recorded in health reaches the registry over the real bus as one
血液透析 monitoring alert (防返贫监测); the session events are for health's own ledger."""

from __future__ import annotations

import contextlib

import pytest_asyncio
from registry_testdata import household_body, seed_regions

from devstack.testing import eventually, running
from health.config import HealthSettings
from health.main import create_app as create_health
from registry.config import RegistrySettings
from registry.main import create_app as create_registry


@pytest_asyncio.fixture
async def services(stack):
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    health_app = create_health(HealthSettings(**await stack.settings_for("health")))
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(running(registry_app))
        health = await exits.enter_async_context(running(health_app))
        await seed_regions(registry_app)
        yield registry, health


async def test_a_dialysis_patient_raises_a_registry_alert(services, auth_keys):
    registry, health = services
    headers = auth_keys.headers()  # the county's poverty office (扶贫办)
    officer = auth_keys.headers("health_officer")
    household = (await registry.post("/households", json=household_body(), headers=headers)).json()
    hid, person = household["id"], household["members"][0]["id"]
    started = await eventually(
        lambda: health.post(
            "/dialysis-patients",
            json={"person_id": person, "started_on": "2026-04-01", "facility": "广河县人民医院"},
            headers=officer,
        ),
        until=lambda r: r.status_code == 201,
    )
    session = await health.post(
        f"/dialysis-patients/{started.json()['id']}/sessions",
        json={"on": "2026-04-02"},
        headers=officer,
    )
    assert session.status_code == 201 and session.json()["subsidy"] == "100.00"

    async def alerts():
        response = await registry.get(
            "/alerts", params={"household_id": hid, "kind": "dialysis"}, headers=headers
        )
        return response.json()["items"]

    raised = await eventually(alerts, until=lambda items: len(items) >= 1)
    assert len(raised) == 1 and raised[0]["kind"] == "dialysis"
