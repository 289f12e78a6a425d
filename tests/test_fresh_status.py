"""Fresh mode against the real registry over HTTP: its answer replaces the projection's
registry dimensions; once it is stopped they are `unknown` with the reason, never a 500."""

from __future__ import annotations

from registry_testdata import household_body, seed_regions

from devstack.servers import free_port
from devstack.testing import eventually, running, serving
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

REGISTRY_DIMENSIONS = ("income", "food_clothing", "water")


async def test_fresh_status_with_the_registry_up_then_stopped(stack, auth_keys):
    headers = auth_keys.headers()
    registry_port = free_port()
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    gateway_app = create_gateway(
        GatewaySettings(
            **await stack.settings_for(
                "gateway",
                sources={
                    "registry": f"http://127.0.0.1:{registry_port}",
                    "housing": f"http://127.0.0.1:{free_port()}",  # not running
                },
                source_timeout_seconds=2.0,
                fresh_deadline_seconds=3.0,
            )
        )
    )
    async with running(gateway_app) as gateway:
        async with serving(registry_app, port=registry_port) as registry:
            await seed_regions(registry_app)
            body = household_body()
            created = (await registry.post("/households", json=body, headers=headers)).json()
            url = f"/households/{created['id']}/status"
            projected = await eventually(
                lambda: gateway.get(url, headers=headers), until=lambda r: r.status_code == 200
            )
            assert projected.json()["dimensions"]["income"]["status"] == "not_ok"  # 2800.50 元

            # The registry answers with its decision now, whatever the projection holds.
            fresh = (await gateway.get(url, params={"fresh": "true"}, headers=headers)).json()
            assert fresh["fresh"] is True
            assert fresh["sources"]["registry"]["status"] == "answered"
            assert fresh["dimensions"]["income"]["reason"] == "INCOME_BELOW_LINE"
            assert fresh["sources"]["housing"]["status"] == "error"
            assert fresh["dimensions"]["housing"]["reason"] == "SOURCE_UNAVAILABLE"

            await registry.patch(
                f"/households/{created['id']}",
                json={"survey": {"survey_year": 2025, "per_capita_net_income": "4100.00"}},
                headers=headers,
            )
            fresh = (await gateway.get(url, params={"fresh": "true"}, headers=headers)).json()
            assert fresh["dimensions"]["income"]["status"] == "ok"

        # The registry is stopped: its dimensions are unknown, with the reason.
        response = await gateway.get(url, params={"fresh": "true"}, headers=headers)
        assert response.status_code == 200
        stopped = response.json()
        assert stopped["sources"]["registry"]["status"] == "error"
        for name in REGISTRY_DIMENSIONS:
            assert stopped["dimensions"][name]["status"] == "unknown", name
            assert stopped["dimensions"][name]["reason"] == "SOURCE_UNAVAILABLE"
        assert stopped["exit_readiness"]["status"] == "unknown"
