"""Helpers (帮扶责任人): load limits, one primary helper per household, visit logs, the
compliance and no-helper reports, region scoping and the events (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body
from sqlalchemy import text
from workflow_steps import COUNTY, set_today

TOWNSHIP = "622924100000"  # 城关镇
OTHER_TOWNSHIP = "622924101000"  # 三甲集镇
TODAY = dt.date(2026, 3, 10)


async def new_household(client, headers, region=VILLAGE, **overrides) -> str:
    body = household_body(region, **overrides)
    if overrides.get("poverty_state") == "candidate":
        body["evidence"] = []
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def new_helper(
    client, headers, rank="ordinary", region=COUNTY, name="张帮扶", **extra
) -> dict:
    body = {"name": name, "rank": rank, "work_unit": "县农业农村局", "region_code": region}
    response = await client.post("/helpers", json={**body, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def assign(client, headers, household_id, helper_id, **fields):
    return await client.post(
        f"/households/{household_id}/helper-assignments",
        json={"helper_id": helper_id, **fields},
        headers=headers,
    )


async def visit(client, headers, household_id, helper_id, day: dt.date, **fields):
    return await client.post(
        f"/households/{household_id}/visits",
        json={"helper_id": helper_id, "visit_date": day.isoformat(), **fields},
        headers=headers,
    )


async def test_load_limit_per_rank_at_the_boundary_and_after_a_policy_override(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    households = [await new_household(client, admin) for _ in range(4)]
    ordinary = await new_helper(client, admin, "ordinary", name="王一般")
    leader = await new_helper(client, admin, "section_level", name="李科长")
    assert (ordinary["max_load"], leader["max_load"]) == (1, 3)

    assert (await assign(client, admin, households[0], ordinary["id"])).status_code == 201
    over = await assign(client, admin, households[1], ordinary["id"])
    assert over.status_code == 409, over.text
    assert over.json()["code"] == "HELPER_LOAD_EXCEEDED"
    assert "already helps 1 household" in over.json()["detail"] and "limit" in over.json()["detail"]

    for hid in households[1:]:  # three households: exactly the section-level limit
        assert (await assign(client, admin, hid, leader["id"])).status_code == 201
    fourth = await new_household(client, admin)
    over = await assign(client, admin, fourth, leader["id"])
    assert over.status_code == 409 and over.json()["code"] == "HELPER_LOAD_EXCEEDED"
    assert "already helps 3 household" in over.json()["detail"]
    shown = (await client.get(f"/helpers/{leader['id']}", headers=admin)).json()
    assert (shown["load"], shown["max_load"]) == (3, 3)

    # The county raises the ordinary cadre's limit to 2 from 2026 on: one more fits, not two.
    changed = await client.put(
        "/policy/helpers.max_load.ordinary",
        json={"region_code": COUNTY, "year": 2026, "value": 2, "reason": "县委组织部文件"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (await assign(client, admin, fourth, ordinary["id"], role="member")).status_code == 201
    fifth = await new_household(client, admin)
    over = await assign(client, admin, fifth, ordinary["id"])
    assert over.status_code == 409 and "limit for the rank is 2" in over.json()["detail"]

    # A rank whose limit is below the current load is refused too.
    demoted = await client.patch(
        f"/helpers/{leader['id']}", json={"rank": "ordinary"}, headers=admin
    )
    assert demoted.status_code == 409 and demoted.json()["code"] == "HELPER_LOAD_EXCEEDED"


async def test_concurrent_primary_assignments_one_wins(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    hid = await new_household(client, admin)
    first = await new_helper(client, admin, "section_level", name="甲")
    second = await new_helper(client, admin, "section_level", name="乙")
    responses = await asyncio.gather(
        assign(client, admin, hid, first["id"]), assign(client, admin, hid, second["id"])
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] == "PRIMARY_HELPER_EXISTS"
    async with registry_app.state.runtime.engine.connect() as conn:
        active = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM helper_assignments WHERE household_id = :h "
                    "AND role = 'primary' AND end_date IS NULL"
                ),
                {"h": hid},
            )
        ).scalar_one()
    assert active == 1


async def test_second_primary_needs_replace_which_ends_the_first(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    hid = await new_household(client, admin)
    old = await new_helper(client, admin, name="老帮扶")
    new = await new_helper(client, admin, name="新帮扶")
    start = {"start_date": "2026-01-05"}
    assert (await assign(client, admin, hid, old["id"], **start)).status_code == 201
    refused = await assign(client, admin, hid, new["id"])
    assert refused.status_code == 409 and "老帮扶" in refused.json()["detail"]
    replaced = await assign(client, admin, hid, new["id"], replace_primary=True)
    assert replaced.status_code == 201, replaced.text
    listed = (await client.get(f"/households/{hid}/helper-assignments", headers=admin)).json()
    assert [(a["helper"]["name"], a["active"], a["end_date"]) for a in listed] == [
        ("新帮扶", True, None),
        ("老帮扶", False, TODAY.isoformat()),
    ]
    again = await assign(client, admin, hid, new["id"], role="member")
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_ASSIGNED"


async def test_only_registered_exited_or_monitored_households_get_helpers(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    helper = await new_helper(client, admin, "section_level")
    candidate = await new_household(client, admin, poverty_state="candidate")
    refused = await assign(client, admin, candidate, helper["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "HOUSEHOLD_NOT_ELIGIBLE"
    exited = await new_household(client, admin, poverty_state="exited")
    assert (await assign(client, admin, exited, helper["id"])).status_code == 201
    marginal = await new_household(
        client, admin, poverty_state="candidate", monitoring_category="marginal"
    )
    assert (await assign(client, admin, marginal, helper["id"])).status_code == 201
    # a village helper cannot take a household of another village
    local = await new_helper(client, admin, region=VILLAGE, name="村干部")
    elsewhere = await new_household(client, admin, region=OTHER_VILLAGE)
    outside = await assign(client, admin, elsewhere, local["id"])
    assert outside.status_code == 422 and outside.json()["code"] == "OUTSIDE_HELPER_AREA"


async def test_visits_not_in_the_future_and_only_by_an_assigned_helper(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    hid = await new_household(client, admin)
    helper = await new_helper(client, admin)
    stranger = await new_helper(client, admin, name="路人")
    assert (
        await assign(client, admin, hid, helper["id"], start_date="2026-03-01")
    ).status_code == 201

    future = await visit(client, admin, hid, helper["id"], TODAY + dt.timedelta(days=1))
    assert future.status_code == 422, future.text
    assert future.json()["code"] == "FUTURE_DATE"
    assert future.json()["errors"][0]["field"] == "body.visit_date"
    before_start = await visit(client, admin, hid, helper["id"], dt.date(2026, 2, 27))
    assert before_start.status_code == 409 and before_start.json()["code"] == "HELPER_NOT_ASSIGNED"
    not_assigned = await visit(client, admin, hid, stranger["id"], TODAY)
    assert not_assigned.status_code == 409
    ok = await visit(client, admin, hid, helper["id"], TODAY, kind="phone", note="电话了解病情")
    assert ok.status_code == 201, ok.text
    assert (ok.json()["kind"], ok.json()["helper"]["name"]) == ("phone", "张帮扶")
    listed = (await client.get(f"/households/{hid}/visits", headers=admin)).json()
    assert listed["total"] == 1 and listed["items"][0]["note"] == "电话了解病情"
    bad_kind = await visit(client, admin, hid, helper["id"], TODAY, kind="dinner")
    assert bad_kind.status_code == 422


async def test_compliance_counts_visits_per_month_across_month_boundaries(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    hid = await new_household(client, admin)
    helper = await new_helper(client, admin, "section_level")
    assert (
        await assign(client, admin, hid, helper["id"], start_date="2026-01-15")
    ).status_code == 201
    for day in ["2026-01-31", "2026-02-01", "2026-02-15", "2026-02-28", "2026-03-01"]:
        assert (
            await visit(client, admin, hid, helper["id"], dt.date.fromisoformat(day))
        ).status_code == 201

    async def report(month: str) -> list[dict]:
        response = await client.get(
            "/reports/helper-compliance", params={"month": month}, headers=admin
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    january, february, march = (
        await report("2026-01"),
        await report("2026-02"),
        await report("2026-03"),
    )
    assert [(r["visits"], r["min_visits"], r["visits_below_min"]) for r in february] == [
        (3, 3, False)
    ]
    assert [(r["visits"], r["visits_below_min"]) for r in january] == [(1, True)]
    assert [(r["visits"], r["visits_below_min"]) for r in march] == [(1, True)]
    assert february[0]["helper"]["name"] == "张帮扶" and february[0]["head_name"] == "马建国"
    assert await report("2025-12") == []  # before the assignment started
    bad = await client.get("/reports/helper-compliance", params={"month": "2026-13"}, headers=admin)
    assert bad.status_code == 422


async def test_households_without_helper_follow_assignments(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    first, second = await new_household(client, admin), await new_household(client, admin)
    await new_household(client, admin, poverty_state="candidate")  # not poor: never listed
    await new_household(client, admin, poverty_state="exited")  # exited: not in the invariant
    helper = await new_helper(client, admin, "section_level")
    member = await new_helper(client, admin, name="队员")

    async def without() -> dict:
        response = await client.get("/reports/households-without-helper", headers=admin)
        assert response.status_code == 200, response.text
        return {r["household_id"]: r for r in response.json()["items"]}

    assert set(await without()) == {first, second}
    assert (await assign(client, admin, first, member["id"], role="member")).status_code == 201
    rows = await without()
    assert set(rows) == {first, second} and rows[first]["team_members"] == 1
    assert all(r["no_helper"] for r in rows.values())
    assigned = await assign(client, admin, first, helper["id"])
    assert set(await without()) == {second}
    ended = await client.post(
        f"/households/{first}/helper-assignments/{assigned.json()['id']}/end",
        json={"reason": "干部调动"},
        headers=admin,
    )
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert set(await without()) == {first, second}
    twice = await client.post(
        f"/households/{first}/helper-assignments/{assigned.json()['id']}/end",
        json={"reason": "干部调动"},
        headers=admin,
    )
    assert twice.status_code == 409 and twice.json()["code"] == "ASSIGNMENT_ENDED"


async def test_reports_are_scoped_to_the_callers_region(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    await new_household(client, admin, region=VILLAGE)
    other = await new_household(client, admin, region=OTHER_VILLAGE)
    township = auth_keys.headers("registry_clerk", OTHER_TOWNSHIP)
    for path, params in [
        ("/reports/households-without-helper", {}),
        ("/reports/helper-compliance", {"month": "2026-01"}),
    ]:
        refused = await client.get(path, params={**params, "region": TOWNSHIP}, headers=township)
        assert refused.status_code == 403 and refused.json()["code"] == "OUTSIDE_REGION"
    own = (await client.get("/reports/households-without-helper", headers=township)).json()
    assert [r["household_id"] for r in own["items"]] == [other]
    # a helper of another township is invisible, and cannot be assigned from here
    helper = await new_helper(client, admin, region=TOWNSHIP, name="城关干部")
    assert (await client.get(f"/helpers/{helper['id']}", headers=township)).status_code == 404
    listed = (await client.get("/helpers", headers=township)).json()
    assert listed["total"] == 0


async def test_phone_is_personal_data(client, auth_keys):
    admin = auth_keys.headers("county_admin", COUNTY)
    helper = await new_helper(client, admin, phone="13809301234")
    assert helper["phone"] == "13809301234" and helper["phone_masked"] is False
    auditor = auth_keys.headers("auditor", COUNTY)
    shown = (await client.get(f"/helpers/{helper['id']}", headers=auditor)).json()
    assert shown["phone"] == "138****1234" and shown["phone_masked"] is True
    bad = await client.post(
        "/helpers",
        json={
            "name": "x",
            "rank": "ordinary",
            "work_unit": "y",
            "region_code": COUNTY,
            "phone": "abc",
        },
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.phone"


async def test_assignments_and_visits_publish_household_events(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    hid = await new_household(client, admin)
    old = await new_helper(client, admin, name="老帮扶", phone="13900001111")
    new = await new_helper(client, admin, name="新帮扶")
    await assign(client, admin, hid, old["id"], start_date="2026-03-01")
    assert (
        await visit(client, admin, hid, old["id"], TODAY, note="家中老人住院")
    ).status_code == 201
    await assign(client, admin, hid, new["id"], replace_primary=True)
    async with registry_app.state.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT event_type, (envelope->>'sequence')::int AS sequence, "
                    "envelope->'data' AS data FROM outbox WHERE aggregate_id = :h "
                    "ORDER BY position"
                ),
                {"h": hid},
            )
        ).all()
        version = (
            await conn.execute(text("SELECT version FROM households WHERE id = :h"), {"h": hid})
        ).scalar_one()
    names = [r.event_type.removeprefix("cn.jingzhun.registry.").removesuffix(".v1") for r in rows]
    assert names == [
        "household.created",
        "helper.assigned",
        "helper.visit_logged",
        "helper.unassigned",
        "helper.assigned",
    ]
    assert [r.sequence for r in rows] == [1, 2, 3, 4, 5] and version == 5
    assigned, logged, unassigned = rows[1].data, rows[2].data, rows[3].data
    assert (assigned["helper_name"], assigned["role"], assigned["region_code"]) == (
        "老帮扶",
        "primary",
        VILLAGE,
    )
    assert (logged["helper_name"], logged["visit_date"]) == ("老帮扶", TODAY.isoformat())
    assert unassigned["end_date"] == TODAY.isoformat() and rows[4].data["helper_name"] == "新帮扶"
    for row in rows[1:]:  # neither the helper's phone nor the visit note nor household data
        dumped = str(row.data)
        assert "13900001111" not in dumped and "住院" not in dumped and "members" not in row.data
    history = (await client.get(f"/households/{hid}/history", headers=admin)).json()
    assert [e["action"] for e in history][1:] == [
        "helper.assigned",
        "helper.visit_logged",
        "helper.unassigned",
        "helper.assigned",
    ]


async def test_removal_and_merge_free_the_helpers_of_a_household_leaving_the_register(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, TODAY)
    removed, merged, survivor = [await new_household(client, admin) for _ in range(3)]
    leader = await new_helper(client, admin, "section_level", name="李科长")
    for hid in (removed, merged, survivor):
        assert (await assign(client, admin, hid, leader["id"])).status_code == 201
    doc = {"name": "清退审批表", "sha256": "c" * 64, "location": "archive://622924/2026/9"}

    out = await client.post(
        f"/households/{removed}/transitions",
        json={
            "action": "remove",
            "reason": "wrongly_included",
            "reason_text": "有稳定工资收入",
            "evidence": [doc],
        },
        headers=admin,
    )
    assert out.status_code == 200, out.text
    head = (await client.get(f"/households/{merged}", headers=admin)).json()["members"][0]["id"]
    joined = await client.post(
        f"/households/{merged}/adjustments",
        json={
            "change": "merge",
            "into_household_id": survivor,
            "relations": {head: "sibling"},
            "reason_text": "兄弟并户",
            "evidence": [doc],
        },
        headers=admin,
    )
    assert joined.status_code == 200, joined.text

    for hid, active in ((removed, False), (merged, False), (survivor, True)):
        rows = (await client.get(f"/households/{hid}/helper-assignments", headers=admin)).json()
        assert [r["end_date"] is None for r in rows] == [active], hid
    shown = (await client.get(f"/helpers/{leader['id']}", headers=admin)).json()
    assert shown["load"] == 1


async def test_a_helper_reads_the_summary_of_their_households_only(client, auth_keys):
    """What the gateway's fresh mode asks with the helper's own token."""
    admin = auth_keys.headers()
    mine, other = await new_household(client, admin), await new_household(client, admin)
    helper = await new_helper(client, admin)
    assert (await assign(client, admin, mine, helper["id"], start_date="2026-01-05")).is_success
    token = auth_keys.headers("helper", VILLAGE, extra_claims={"helper_id": helper["id"]})
    own = await client.get(f"/households/{mine}/summary", headers=token)
    assert own.status_code == 200 and own.json()["facts"]["helpers"][0]["name"] == "张帮扶"
    response = await client.get(f"/households/{other}/summary", headers=token)
    assert response.status_code == 404
    assert (await client.get(f"/households/{other}/summary", headers=admin)).status_code == 200
    no_claim = auth_keys.headers("helper", VILLAGE)
    response = await client.get(f"/households/{mine}/summary", headers=no_claim)
    assert response.status_code == 403 and response.json()["code"] == "NOT_A_HELPER"
