"""GET /households/{id}/status from the projection."""

from __future__ import annotations

import uuid

from gateway_testdata import VILLAGE, event, publish

from contracts.events import registry as events
from contracts.status import Dimension
from devstack.testing import eventually
from gateway.status.dimensions import exit_readiness, initial_dimensions


def test_exit_readiness_rules():
    dims = initial_dimensions()
    assert exit_readiness(dims) == ("unknown", [], [d.value for d in Dimension])
    for d in dims.values():
        d["status"] = "ok"
    assert exit_readiness(dims) == ("ready", [], [])
    dims["housing"]["status"] = "not_ok"
    dims["water"]["status"] = "unknown"
    assert exit_readiness(dims) == ("not_ready", ["housing"], ["water"])


async def test_status_of_a_household(client, js, auth_keys):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    headers = auth_keys.headers("village_cadre", VILLAGE)

    async def fetch():
        return await client.get(f"/households/{hid}/status", headers=headers)

    response = await eventually(fetch, until=lambda r: r.status_code == 200)
    status = response.json()
    assert status["poverty_state"] == "registered" and status["head_name"] == "马建国"
    assert set(status["dimensions"]) == {d.value for d in Dimension}
    for name, dim in status["dimensions"].items():
        assert dim["status"] == "unknown" and dim["reason"] == "NO_DATA_YET", name
        assert "no data yet" in dim["reason_text"]
    assert status["dimensions"]["medical"]["source"] == "health"
    assert status["exit_readiness"]["status"] == "unknown"
    assert status["source_event_id"] == created["id"]


async def test_status_auth(client, js, auth_keys):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    url = f"/households/{hid}/status"
    await eventually(
        lambda: client.get(url, headers=auth_keys.headers()), until=lambda r: r.status_code == 200
    )
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get(url, headers=auth_keys.headers("health_officer", scopes=("health:read",)))
    ).status_code == 403
    assert (
        await client.get(url, headers=auth_keys.headers("village_cadre", "622924101201"))
    ).status_code == 404
    assert (
        await client.get(f"/households/{uuid.uuid4()}/status", headers=auth_keys.headers())
    ).status_code == 404
