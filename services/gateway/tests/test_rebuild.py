"""Dropping the projections and replaying the streams gives back the same state."""

from __future__ import annotations

from gateway_testdata import applied, counters, projection_state
from test_statistics import _scenario

from gateway.config import GatewaySettings
from gateway.rebuild import rebuild


async def test_rebuild_equals_the_incremental_state(client, gateway_app, js):
    await _scenario(js)
    await applied(gateway_app, 10)
    before = await projection_state(gateway_app)
    assert len(before["household_status"]) == 3 and before["region_counters"]

    settings: GatewaySettings = gateway_app.state.runtime.settings
    report = await rebuild(settings)  # while the gateway runs
    assert report.events == 10 and not report.failed
    assert report.outcomes == {"applied": 10}

    assert await projection_state(gateway_app) == before
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
