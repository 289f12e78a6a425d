"""县级审定 of an exit asks the gateway for 一超两不愁三保障 and keeps the answer."""

from __future__ import annotations

import datetime as dt

import httpx
from registry_testdata import household_body
from sqlalchemy import text
from workflow_steps import COUNTY, ok_step, step, to_exit_decision

from devstack.testing import eventually
from registry.workflow.exit_criteria import GatewayClient


async def _set_dimensions(gateway_app, household_id: str, states: dict[str, str]) -> None:
    """What the other departments' events would have set at the gateway."""
    async with gateway_app.state.runtime.engine.begin() as conn:
        for name, state in states.items():
            await conn.execute(
                text(
                    "UPDATE household_status SET dimensions = jsonb_set(dimensions, CAST(:path AS text[]), "
                    "dimensions->CAST(:name AS text) || jsonb_build_object('status', "
                    "CAST(:state AS text), 'reason', CAST(:reason AS text)))"
                    " WHERE household_id = :id"
                ),
                {
                    "path": [name],
                    "name": name,
                    "state": state,
                    "reason": None if state == "ok" else "GRADE_D_UNRESOLVED",
                    "id": household_id,
                },
            )


async def test_exit_is_decided_on_the_gateways_status(platform, auth_keys):
    registry, registry_app = platform.registry, platform.registry_app
    registry_app.state.gateway = GatewayClient(
        "http://gateway", 5.0, transport=httpx.ASGITransport(platform.gateway_app)
    )
    admin = auth_keys.headers("county_admin", COUNTY)
    # The registry decides income, food and water itself (its events carry them): a survey
    # above the line with food and water secure, so that only the other owners' dimensions
    # are what this test sets at the gateway.
    survey = {
        "survey_year": 2025,
        "per_capita_net_income": "5200.00",
        "food_clothing_secure": True,
        "safe_drinking_water": True,
    }
    body = household_body(survey=survey)
    created = await registry.post("/households", json=body, headers=admin)
    hid = created.json()["id"]
    await to_exit_decision(registry, registry_app, hid, admin, dt.date(2026, 9, 1))
    await eventually(
        lambda: platform.gateway.get(f"/households/{hid}/status", headers=admin),
        until=lambda r: r.status_code == 200 and r.json()["poverty_state"] == "planned_exit",
    )

    unknown = await step(registry, hid, "approve_exit", admin, decided_by="县审定")
    assert unknown.status_code == 409 and unknown.json()["code"] == "EXIT_CRITERIA_NOT_MET"
    assert "education" in unknown.json()["detail"]

    everything_ok = {
        d: "ok" for d in ("income", "food_clothing", "water", "education", "medical", "housing")
    }
    await _set_dimensions(platform.gateway_app, hid, {**everything_ok, "housing": "not_ok"})
    housing = await step(registry, hid, "approve_exit", admin, decided_by="县审定")
    assert housing.status_code == 409 and "housing" in housing.json()["detail"]
    assert "income" not in housing.json()["detail"]

    await _set_dimensions(platform.gateway_app, hid, everything_ok)
    exited = await ok_step(registry, hid, "approve_exit", admin, decided_by="县审定")
    assert exited["poverty_state"] == "exited" and exited["exit_year"] == 2026
    assert exited["policy_continuity_until"] == "2031-09-08"  # 脱贫不脱政策: 5 years
    steps = (await registry.get(f"/households/{hid}/transitions", headers=admin)).json()["steps"]
    snapshot = steps[-1]["details"]["criteria"]["gateway_status"]
    assert snapshot["exit_readiness"]["status"] == "ready"
    assert snapshot["household_id"] == hid
