"""Health and the registry over the real bus: the registry's households reach health as
persons (whom the subsidy and settlement terms are for), and a high out-of-pocket
settlement reaches the registry as exactly one risk alert (防返贫监测)."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal

import pytest_asyncio
from registry_testdata import (
    household_body,
    households_with_a_member_without_id_number,
    seed_regions,
)
from sqlalchemy import text

from devstack.testing import eventually, running
from health.config import HealthSettings
from health.main import create_app as create_health
from kit.replay import dead_letter_count
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
        yield registry, health, registry_app, health_app


def bill(person_id: str, out_of_catalogue: str) -> dict:
    return dict(
        claim_no=f"ZY-{uuid.uuid4().hex[:12]}",
        person_id=person_id,
        kind="inpatient",
        hospital_name="广河县人民医院",
        hospital_level="county",
        diagnosis_code="N18.5",
        diagnosis_name="慢性肾脏病5期",
        admitted_on="2026-05-01",
        discharged_on="2026-05-20",
        lines=[
            dict(item="治疗费", amount="30000.00"),
            dict(
                item="目录外药品", amount=out_of_catalogue, in_catalogue=False, consent_signed=True
            ),
        ],
    )


async def test_a_high_out_of_pocket_claim_raises_exactly_one_alert(services, auth_keys):
    registry, health, registry_app, _ = services
    headers = auth_keys.headers()  # the county's poverty office (扶贫办)
    officer = auth_keys.headers("health_officer")  # the county's medical insurance bureau
    household = (await registry.post("/households", json=household_body(), headers=headers)).json()
    hid = household["id"]
    person = household["members"][0]["id"]
    enrolled = await eventually(
        lambda: health.post(f"/households/{hid}/enrolments", json={"year": 2026}, headers=officer),
        until=lambda r: r.status_code == 201,
    )
    assert {e["subsidy_categories"][0] for e in enrolled.json()} == {"registered_poor"}

    # 12,000 of out-of-catalogue drugs: the household's year total passes the 10,000 floor.
    first = await health.post("/claims", json=bill(person, "12000.00"), headers=officer)
    assert first.status_code == 201, first.text
    assert Decimal(first.json()["settlement"]["payers"]["personal"]) > Decimal("10000.00")

    async def alerts():
        response = await registry.get(
            "/alerts", params={"household_id": hid, "kind": "high_medical_cost"}, headers=headers
        )
        return response.json()["items"]

    raised = await eventually(alerts, until=lambda items: len(items) >= 1)
    assert len(raised) == 1 and raised[0]["status"] == "open"
    # A second claim the same year adds to the total but raises nothing new.
    second = await health.post("/claims", json=bill(person, "3000.00"), headers=officer)
    assert second.status_code == 201
    await eventually(lambda: _claims_counted(registry_app, hid), until=lambda counted: counted == 2)
    assert len(await alerts()) == 1


async def _claims_counted(app, household_id: str) -> int:
    """Claims the registry has taken into the household's year total."""
    async with app.state.runtime.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM medical_costs WHERE household_id = :h"),
            {"h": household_id},
        )
        return found.scalar_one()


async def test_members_without_an_id_number_reach_health(services, auth_keys):
    """A newborn (户口 pending) has no ID number: health takes the household whole, and
    dead-letters nothing (it used to refuse such a person and every later event of the
    household)."""
    registry, health, registry_app, health_app = services
    headers = auth_keys.headers()
    households = await households_with_a_member_without_id_number(registry, headers)
    for household in households:
        summary = await eventually(
            lambda hid=household["id"]: health.get(f"/households/{hid}/summary", headers=headers),
            until=lambda r: r.status_code == 200 and r.json()["facts"]["members"] == 2,
        )
        assert summary.json()["facts"] == {"members": 2, "insured": 0}
    # Their persons are enrolled like any other: the newborn too.
    enrolled = await health.post(
        f"/households/{households[1]['id']}/enrolments",
        json={"year": 2026},
        headers=auth_keys.headers("health_officer"),
    )
    assert enrolled.status_code == 201, enrolled.text
    assert len(enrolled.json()) == 2
    await eventually(lambda: _unpublished(registry_app), until=lambda n: n == 0)
    assert await dead_letter_count(health_app.state.runtime.bus.js, "health-registry") == 0


async def _unpublished(app) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return (await conn.execute(query)).scalar_one()
