"""Who sees what of household status: names only with `pii:read` (a dashboard gets none),
a helper only the households assigned to them; the read from memory keeps both rules."""

from __future__ import annotations

import uuid

from gateway_testdata import VILLAGE, envelope, event, notifications_delivered, publish, publish_to
from prometheus_client import REGISTRY

from contracts.events import registry as events
from devstack.testing import eventually


def hits() -> float:
    labels = {"outcome": "hit"}
    return REGISTRY.get_sample_value("jingzhun_gateway_status_cache_lookups_total", labels) or 0


async def projected(client, gateway_app, js, auth_keys, *, helper: uuid.UUID | None = None):
    """A household (head 马建国) in the projection and in memory, assigned to ``helper``."""
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    url = f"/households/{hid}/status"
    admin = auth_keys.headers()

    def done(response) -> bool:
        return response.status_code == 200 and (
            helper is None or response.json()["helper"]["assigned"]
        )

    if helper is not None:
        assignment = events.HelperAssignmentEvent(
            assignment_id=uuid.uuid4(),
            household_id=hid,
            region_code=VILLAGE,
            helper_id=helper,
            helper_name="李帮扶",
            helper_rank="section_level",
            work_unit="县教育局",
            role="primary",
            start_date="2026-01-05",
        )
        await publish_to(
            js,
            events.HELPER_ASSIGNED,
            envelope(events.HELPER_ASSIGNED, assignment, subject=hid, sequence=2),
        )
    await eventually(lambda: client.get(url, headers=admin), until=done)
    await notifications_delivered(gateway_app)
    await client.get(url + "?fresh=false", headers=admin)  # held in memory from now on
    assert str(hid) in gateway_app.state.status_cache._entries
    return hid


async def test_a_dashboard_sees_no_names(client, gateway_app, js, auth_keys):
    hid = await projected(client, gateway_app, js, auth_keys)
    url = f"/households/{hid}/status"
    dashboard = auth_keys.headers("dashboard")
    full = await client.get(url + "?fresh=false", headers=dashboard)  # the framework's way
    assert full.status_code == 200 and full.json()["head_name"] is None
    before = hits()
    cached = await client.get(url, headers=dashboard)  # from memory
    assert hits() == before + 1
    assert cached.content == full.content
    assert cached.headers["content-length"] == str(len(full.content))
    assert "马建国" not in cached.text
    listed = await client.get("/households", headers=dashboard)
    assert listed.status_code == 200 and listed.json()["total"] >= 1
    assert {h["head_name"] for h in listed.json()["items"]} == {None}
    # The same document with the name for a caller holding pii:read, from memory too.
    cadre = auth_keys.headers("village_cadre", VILLAGE)
    named = await client.get(url, headers=cadre)
    assert named.json()["head_name"] == "马建国"
    assert {**named.json(), "head_name": None} == cached.json()
    assert (await client.get(url, headers=cadre)).content == named.content
    listed = await client.get("/households", headers=cadre)
    assert "马建国" in {h["head_name"] for h in listed.json()["items"]}
    # Decided by scope: a dashboard-like token that holds pii:read sees names.
    scoped = auth_keys.headers("dashboard", scopes=("status:read", "pii:read"))
    assert (await client.get(url, headers=scoped)).json()["head_name"] == "马建国"


async def test_a_name_that_needs_escaping_is_redacted_whole(client, gateway_app, js, auth_keys):
    from sqlalchemy import text

    hid = await projected(client, gateway_app, js, auth_keys)
    async with gateway_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE household_status SET head_name = :n WHERE household_id = :id"),
            {"id": hid, "n": '马"\\国\n强'},
        )
    await notifications_delivered(gateway_app)
    url = f"/households/{hid}/status"
    admin = auth_keys.headers()
    assert (await client.get(url, headers=admin)).json()["head_name"] == '马"\\国\n强'
    dashboard = auth_keys.headers("dashboard")
    full = await client.get(url + "?fresh=false", headers=dashboard)
    cached = await client.get(url, headers=dashboard)
    assert cached.content == full.content and cached.json()["head_name"] is None


async def test_a_helper_sees_only_their_households(client, gateway_app, js, auth_keys):
    me, colleague = uuid.uuid4(), uuid.uuid4()
    mine = await projected(client, gateway_app, js, auth_keys, helper=me)
    theirs = await projected(client, gateway_app, js, auth_keys, helper=colleague)
    nobody = await projected(client, gateway_app, js, auth_keys)
    helper = auth_keys.headers("helper", VILLAGE, extra_claims={"helper_id": str(me)})

    listed = await client.get("/households", headers=helper)
    assert listed.status_code == 200
    assert [h["household_id"] for h in listed.json()["items"]] == [str(mine)]
    assert listed.json()["items"][0]["head_name"] == "马建国"  # their own family, by name
    me_list = await client.get("/me/households", headers=helper)
    assert [h["household_id"] for h in me_list.json()["items"]] == [str(mine)]

    own = await client.get(f"/households/{mine}/status", headers=helper)
    assert own.status_code == 200
    before = hits()
    assert (await client.get(f"/households/{mine}/status", headers=helper)).content == own.content
    assert hits() == before + 1  # from memory
    for hid in (theirs, nobody):
        for _ in range(2):  # the token is remembered and the household held: still 404
            response = await client.get(f"/households/{hid}/status", headers=helper)
            assert response.status_code == 404, response.text
            assert response.json()["detail"] == "household not found"
        fresh = await client.get(f"/households/{hid}/status?fresh=true", headers=helper)
        assert fresh.status_code == 404
    # The claim written differently is the same helper (the full endpoint reads it).
    upper = auth_keys.headers("helper", VILLAGE, extra_claims={"helper_id": str(me).upper()})
    assert (await client.get(f"/households/{mine}/status", headers=upper)).status_code == 200
    assert (await client.get(f"/households/{theirs}/status", headers=upper)).status_code == 404

    # A helper token without a valid helper id sees nothing rather than everything.
    for claims in ({}, {"helper_id": "somebody"}):
        anonymous = auth_keys.headers("helper", VILLAGE, extra_claims=claims)
        for url in ("/households", f"/households/{mine}/status"):
            response = await client.get(url, headers=anonymous)
            assert response.status_code == 403 and response.json()["code"] == "NOT_A_HELPER"
