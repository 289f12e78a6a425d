"""A registry write reaches the gateway's household status, in one trace."""

from __future__ import annotations

from opentelemetry.trace import SpanKind
from registry_testdata import (
    household_body,
    households_with_a_member_without_id_number,
    new_id_number,
)

from devstack.testing import eventually
from kit.replay import dead_letter_count


async def test_household_status_follows_registry_changes(platform, auth_keys):
    headers = auth_keys.headers()
    created = (
        await platform.registry.post("/households", json=household_body(), headers=headers)
    ).json()
    url = f"/households/{created['id']}/status"
    status = await eventually(
        lambda: platform.gateway.get(url, headers=headers), until=lambda r: r.status_code == 200
    )
    assert status.json()["poverty_state"] == "registered" and status.json()["member_count"] == 3

    await platform.registry.patch(
        f"/households/{created['id']}", json={"assistance_type": "dibao"}, headers=headers
    )
    await platform.registry.post(
        f"/households/{created['id']}/members",
        json={
            "name": "马小军",
            "id_number": new_id_number(),
            "relation": "grandchild",
            "labour_capacity": "none",
        },
        headers=headers,
    )
    final = await eventually(
        lambda: platform.gateway.get(url, headers=headers),
        until=lambda r: r.json()["assistance_type"] == "dibao" and r.json()["member_count"] == 4,
    )
    # The registry decided its dimensions from the survey: 2800.50 元 is below the line.
    income = final.json()["dimensions"]["income"]
    assert income["status"] == "not_ok" and income["reason"] == "INCOME_BELOW_LINE"
    assert income["source"] == "registry"
    assert final.json()["exit_readiness"]["status"] == "not_ready"


async def test_members_without_an_id_number_reach_the_gateway(platform, auth_keys):
    """A newborn (户口 pending) has no ID number: the gateway's status counts them, and
    nothing is dead-lettered."""
    headers = auth_keys.headers()
    households = await households_with_a_member_without_id_number(platform.registry, headers)
    for household in households:
        status = await eventually(
            lambda hid=household["id"]: platform.gateway.get(
                f"/households/{hid}/status", headers=headers
            ),
            until=lambda r: r.status_code == 200 and r.json()["member_count"] == 2,
        )
        assert status.json()["source_event_id"] is not None
    js = platform.gateway_app.state.runtime.bus.js
    assert await dead_letter_count(js, "gateway-registry") == 0


async def test_one_trace_from_registry_request_to_gateway_consume(platform, auth_keys, spans):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {**auth_keys.headers(), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    created = (
        await platform.registry.post("/households", json=household_body(), headers=headers)
    ).json()
    await eventually(
        lambda: platform.gateway.get(
            f"/households/{created['id']}/status", headers=auth_keys.headers()
        ),
        until=lambda r: r.status_code == 200,
    )

    def consume_spans():
        return [
            s
            for s in spans.get_finished_spans()
            if s.kind == SpanKind.CONSUMER
            and s.name.startswith("consume registry.household.created")
        ]

    async def probe():
        return consume_spans()

    found = await eventually(
        probe,
        until=lambda found: any(format(s.context.trace_id, "032x") == trace_id for s in found),
    )
    consume = next(s for s in found if format(s.context.trace_id, "032x") == trace_id)
    publish = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.PRODUCER and format(s.context.trace_id, "032x") == trace_id
    ]
    assert publish, "the relay's publish span belongs to the same trace"
    assert consume.parent is not None and consume.parent.span_id == publish[0].context.span_id
