"""Fresh mode when owning services fail: their dimensions are `unknown` with the reason;
the answer still comes, within the deadline, never as a 500."""

from __future__ import annotations

import asyncio
import uuid

from gateway_testdata import applied, event, fact, publish

from contracts.events import registry as events
from devstack.servers import free_port
from devstack.testing import running
from gateway.config import GatewaySettings
from gateway.main import create_app


async def test_fresh_mode_with_services_down_or_hung(stack, js, auth_keys):
    async def never_answer(reader, writer):
        await asyncio.sleep(3600)  # accepts the connection, then says nothing

    hung = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    hung_port = hung.sockets[0].getsockname()[1]
    settings = GatewaySettings(
        **await stack.settings_for(
            "gateway",
            sources={
                "registry": f"http://127.0.0.1:{free_port()}",  # stopped: nothing listens
                "housing": f"http://127.0.0.1:{hung_port}",
            },
            source_timeout_seconds=0.3,
            fresh_deadline_seconds=0.6,
        )
    )
    app = create_app(settings)
    async with running(app) as client:
        hid = uuid.uuid4()
        ok = {d: fact("ok") for d in ("income", "food_clothing", "water")}
        await publish(
            js, events.HOUSEHOLD_CREATED, event(events.HOUSEHOLD_CREATED, hid, 1, dimensions=ok)[1]
        )
        await applied(app, 1)
        url = f"/households/{hid}/status"
        projected = (await client.get(url, headers=auth_keys.headers())).json()
        assert projected["fresh"] is False and projected["sources"] is None
        assert projected["dimensions"]["income"]["status"] == "ok"

        response = await client.get(url, params={"fresh": "true"}, headers=auth_keys.headers())
        assert response.status_code == 200, response.text
        fresh = response.json()
        assert fresh["fresh"] is True
        assert fresh["sources"]["registry"]["status"] == "error"
        assert fresh["sources"]["housing"]["status"] == "timeout"
        for name in ("income", "food_clothing", "water", "housing"):
            dimension = fresh["dimensions"][name]
            assert dimension["status"] == "unknown", name
            assert dimension["reason"] == "SOURCE_UNAVAILABLE"
        assert "did not answer" in fresh["dimensions"]["housing"]["reason_text"]
        # Services not asked keep what the projection knows.
        assert fresh["dimensions"]["medical"] == projected["dimensions"]["medical"]
        assert fresh["exit_readiness"]["status"] == "unknown"
        assert fresh["as_of"] > projected["as_of"]
    hung.close()
