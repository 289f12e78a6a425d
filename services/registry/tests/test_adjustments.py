"""Composition changes (自然增减, 户内人员增减, 并户) and the one-household-per-person invariant."""

from __future__ import annotations

import asyncio
import datetime as dt

from registry_testdata import (
    OTHER_VILLAGE,
    household_body,
    member_without_id_number,
    new_id_number,
)
from sqlalchemy import text
from workflow_steps import COUNTY, DOC, set_today

from contracts.resident_id import birth_date

BASE = {"reason_text": "动态管理", "evidence": [DOC]}


async def _household(client, headers, **overrides) -> dict:
    response = await client.post("/households", json=household_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _change(client, hid: str, headers, **body):
    return await client.post(
        f"/households/{hid}/adjustments", json={**BASE, **body}, headers=headers
    )


async def _adjusted_events(app, household_id: str) -> list[dict]:
    """``registry.household.adjusted`` payloads of one household, oldest first."""
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT envelope FROM outbox WHERE event_type = :t AND aggregate_id = :h "
                "ORDER BY (envelope->>'sequence')::int"
            ),
            {"t": "cn.jingzhun.registry.household.adjusted.v1", "h": household_id},
        )
        return [r[0]["data"] for r in rows]


async def _persons_with(app, household_id: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = text("SELECT count(*) FROM members WHERE household_id = CAST(:h AS uuid)")
        return (await conn.execute(query, {"h": household_id})).scalar_one()


async def test_birth_and_death_are_natural_changes_with_effective_month(
    client, auth_keys, registry_app
):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    set_today(registry_app, dt.date(2026, 7, 15))
    household = await _household(client, clerk)
    hid = household["id"]
    baby = {
        "name": "马小宝",
        "gender": "female",
        "birth_date": "2026-07-01",
        "relation": "grandchild",
    }
    born = await _change(client, hid, clerk, change="join", cause="birth", member=baby)
    assert born.status_code == 200, born.text
    assert len(born.json()["members"]) == 4
    newborn = next(m for m in born.json()["members"] if m["name"] == "马小宝")
    assert newborn["id_pending"] is True

    grandpa = household["members"][2]["id"]
    died = await _change(
        client,
        hid,
        clerk,
        change="leave",
        cause="death",
        member_id=grandpa,
        effective_month="2026-06",
    )
    assert died.status_code == 200, died.text
    assert grandpa not in {m["id"] for m in died.json()["members"]}

    record = (await client.get(f"/households/{hid}/adjustments", headers=clerk)).json()
    assert [(a["kind"], a["reason"], a["effective_month"]) for a in record] == [
        ("natural_change", "birth", "2026-07-01"),
        ("natural_change", "death", "2026-06-01"),
    ]
    assert record[0]["evidence"] == [DOC]
    events = await _adjusted_events(registry_app, hid)
    assert events[0]["members_joined"] == [newborn["id"]]
    assert events[1]["members_left"] == [grandpa] and len(events[1]["members"]) == 3


async def test_leaving_head_hands_over_and_last_member_cannot_leave(client, auth_keys):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    household = await _household(client, clerk, members=2)
    hid = household["id"]
    head, spouse = household["members"][0]["id"], household["members"][1]["id"]
    leave = dict(change="leave", cause="death", member_id=head)
    no_heir = await _change(client, hid, clerk, **leave)
    assert no_heir.status_code == 422 and no_heir.json()["code"] == "NEW_HEAD_REQUIRED"
    done = await _change(client, hid, clerk, **leave, new_head_member_id=spouse)
    assert done.status_code == 200, done.text
    assert [(m["id"], m["relation"]) for m in done.json()["members"]] == [(spouse, "head")]
    assert done.json()["head_name"] == "王秀英"

    last = await _change(
        client,
        hid,
        clerk,
        change="leave",
        cause="death",
        member_id=spouse,
        new_head_member_id=spouse,
    )
    assert last.status_code == 409 and last.json()["code"] == "LAST_MEMBER"
    wrong = await _change(
        client,
        hid,
        clerk,
        change="join",
        cause="death",
        member=dict(name="某", gender="male", birth_date="2000-01-01", relation="child"),
    )
    assert wrong.status_code == 422


async def test_move_between_households_keeps_the_person_and_records_both(
    client, auth_keys, registry_app
):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    source = await _household(client, clerk)
    target = await _household(client, clerk, region_code=OTHER_VILLAGE, members=2)
    daughter = source["members"][2]
    moved = await _change(
        client,
        source["id"],
        clerk,
        change="move",
        cause="marriage",
        member_id=daughter["id"],
        to_household_id=target["id"],
        relation="child_in_law",
    )
    assert moved.status_code == 200, moved.text
    assert len(moved.json()["members"]) == 2
    arrived = (await client.get(f"/households/{target['id']}", headers=clerk)).json()
    person = next(m for m in arrived["members"] if m["id"] == daughter["id"])
    assert person["relation"] == "child_in_law" and person["name"] == daughter["name"]

    for hid, kind_reason in ((source["id"], "marriage"), (target["id"], "marriage")):
        record = (await client.get(f"/households/{hid}/adjustments", headers=clerk)).json()
        assert [(a["kind"], a["reason"]) for a in record] == [("member_change", kind_reason)]
    (left,) = await _adjusted_events(registry_app, source["id"])
    (joined,) = await _adjusted_events(registry_app, target["id"])
    assert (left["household_id"], left["members_left"]) == (source["id"], [daughter["id"]])
    assert (joined["household_id"], joined["members_joined"]) == (target["id"], [daughter["id"]])
    assert joined["related_household_id"] == source["id"]

    same = await _change(
        client,
        source["id"],
        clerk,
        change="move",
        member_id=source["members"][1]["id"],
        to_household_id=source["id"],
        relation="other",
    )
    assert same.status_code == 422 and same.json()["code"] == "SAME_HOUSEHOLD"
    as_head = await _change(
        client,
        source["id"],
        clerk,
        change="move",
        member_id=source["members"][1]["id"],
        to_household_id=target["id"],
        relation="head",
    )
    assert as_head.status_code == 422


async def test_merge_moves_everyone_and_keeps_the_merged_household_for_history(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    source = await _household(client, admin, members=2)
    target = await _household(client, admin, members=3)
    head = source["members"][0]["id"]
    merge = dict(change="merge", into_household_id=target["id"])

    forbidden = await _change(client, source["id"], clerk, **merge, relations={head: "sibling"})
    assert forbidden.status_code == 403
    no_relation = await _change(client, source["id"], admin, **merge)
    assert no_relation.status_code == 422 and no_relation.json()["code"] == "HEAD_RELATION_REQUIRED"
    stranger = await _change(
        client, source["id"], admin, **merge, relations={head: "sibling", target["id"]: "other"}
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "body.relations"

    merged = await _change(client, source["id"], admin, **merge, relations={head: "sibling"})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merged_into"] == target["id"] and body["members"] == []
    assert body["poverty_state"] == "removed"
    joined = (await client.get(f"/households/{target['id']}", headers=admin)).json()
    assert len(joined["members"]) == 5
    relations = {m["id"]: m["relation"] for m in joined["members"]}
    assert relations[head] == "sibling" and list(relations.values()).count("head") == 1
    assert await _persons_with(registry_app, source["id"]) == 0

    again = await _change(client, source["id"], admin, **merge, relations={head: "sibling"})
    assert again.status_code == 409 and again.json()["code"] == "HOUSEHOLD_MERGED"
    patched = await client.patch(
        f"/households/{source['id']}", json={"assistance_type": "dibao"}, headers=admin
    )
    assert patched.status_code == 409
    history = (await client.get(f"/households/{source['id']}", headers=admin)).json()
    assert history["merged_into"] == target["id"]  # still readable


async def test_one_household_per_person_under_concurrent_requests(client, auth_keys, registry_app):
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    vault = registry_app.state.vault

    # Five households entered at once with the same person: exactly one gets them.
    shared = new_id_number()
    bodies = []
    for _ in range(5):
        body = household_body(members=2)
        body["members"][1]["id_number"] = shared
        bodies.append(body)
    created = await asyncio.gather(
        *(client.post("/households", json=b, headers=clerk) for b in bodies)
    )
    assert sorted(r.status_code for r in created) == [201, 409, 409, 409, 409]
    assert {r.json()["code"] for r in created if r.status_code == 409} == {"ID_NUMBER_TAKEN"}

    # The same newcomer joining four households at once.
    homes = [await _household(client, clerk, members=1) for _ in range(4)]
    newcomer = {"name": "马新", "id_number": new_id_number(), "relation": "spouse"}
    joined = await asyncio.gather(
        *(
            _change(client, h["id"], clerk, change="join", cause="marriage", member=newcomer)
            for h in homes
        )
    )
    assert sorted(r.status_code for r in joined) == [200, 409, 409, 409]

    # One member moved to three households at once: one move wins, the others find the
    # person gone.
    source = await _household(client, clerk, members=3)
    mover = source["members"][2]["id"]
    moves = await asyncio.gather(
        *(
            _change(
                client,
                source["id"],
                clerk,
                change="move",
                member_id=mover,
                to_household_id=h["id"],
                relation="other",
            )
            for h in homes[:3]
        )
    )
    assert sorted(r.status_code for r in moves) == [200, 404, 404]

    async with registry_app.state.runtime.engine.connect() as conn:
        for number in (shared, newcomer["id_number"]):
            count = await conn.execute(
                text("SELECT count(*) FROM members WHERE id_number_hash = :h"),
                {"h": vault.lookup_hash(number)},
            )
            assert count.scalar_one() == 1
        homes_of_mover = await conn.execute(
            text("SELECT count(DISTINCT household_id) FROM members WHERE id = CAST(:m AS uuid)"),
            {"m": mover},
        )
        assert homes_of_mover.scalar_one() == 1


async def test_an_id_number_contradicting_the_recorded_birth_date_is_confirmed_or_refused(
    client, auth_keys
):
    """A newborn registered with a birth date gets its ID number later: if the number's
    date differs, the registry neither picks one silently nor stores anything."""
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    born = dt.date(2025, 10, 1)
    # new_id_number moves the day on after 400 numbers: the dates are the numbers' own.
    other_day = new_id_number(born + dt.timedelta(days=1), male=False)
    agreeing = new_id_number(born, male=False)
    body = household_body(members=3)
    body["members"][1] = member_without_id_number(born, name="马小花")
    body["members"][2] = member_without_id_number(birth_date(agreeing), name="马小草")
    created = await client.post("/households", json=body, headers=clerk)
    assert created.status_code == 201, created.text
    household = created.json()
    hid = household["id"]
    pending = [m for m in household["members"] if m["id_pending"]]
    url = f"/households/{hid}/members/{pending[0]['id']}"

    refused = await client.patch(url, json={"id_number": other_day}, headers=clerk)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "BIRTH_DATE_CONTRADICTS_ID"
    assert problem["errors"][0]["field"] == "body.id_number"
    assert f"{birth_date(other_day)}, but 2025-10-01 is recorded" in problem["detail"]
    unchanged = (await client.get(f"/households/{hid}", headers=clerk)).json()
    assert unchanged["version"] == household["version"]
    kept = next(m for m in unchanged["members"] if m["id"] == pending[0]["id"])
    assert kept["id_pending"] is True and kept["birth_date"] == "2025-10-01"

    alone = await client.patch(url, json={"confirm_birth_date_from_id": True}, headers=clerk)
    assert alone.status_code == 422

    confirmed = await client.patch(
        url, json={"id_number": other_day, "confirm_birth_date_from_id": True}, headers=clerk
    )
    assert confirmed.status_code == 200, confirmed.text
    taken = next(m for m in confirmed.json()["members"] if m["id"] == pending[0]["id"])
    assert taken["id_pending"] is False and taken["birth_date"] == str(birth_date(other_day))

    # A number that agrees with the recorded date needs no confirmation.
    agrees = await client.patch(
        f"/households/{hid}/members/{pending[1]['id']}",
        json={"id_number": agreeing},
        headers=clerk,
    )
    assert agrees.status_code == 200, agrees.text
    assert all(not m["id_pending"] for m in agrees.json()["members"])


async def test_an_id_number_contradicting_the_recorded_gender_is_confirmed_or_refused(
    client, auth_keys
):
    """The gender recorded on registration is not replaced silently by the ID number's
    either; each contradiction needs its own confirmation."""
    clerk = auth_keys.headers("registry_clerk", COUNTY)
    a_boy = new_id_number(dt.date(2025, 10, 1), male=True)
    born = birth_date(a_boy)  # new_id_number moves the day on after 400 numbers
    body = household_body(members=2)
    body["members"][1] = member_without_id_number(born, name="马小花")  # recorded female
    created = await client.post("/households", json=body, headers=clerk)
    assert created.status_code == 201, created.text
    household = created.json()
    hid = household["id"]
    (pending,) = [m for m in household["members"] if m["id_pending"]]
    url = f"/households/{hid}/members/{pending['id']}"

    async def refused(payload: dict, code: str) -> dict:
        response = await client.patch(url, json=payload, headers=clerk)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == code
        assert problem["errors"][0]["field"] == "body.id_number"
        return problem

    problem = await refused({"id_number": a_boy}, "GENDER_CONTRADICTS_ID")
    assert "gender male, but female is recorded" in problem["detail"]
    assert "confirm_gender_from_id: true" in problem["detail"]
    # The birth date's confirmation does not confirm the gender.
    await refused({"id_number": a_boy, "confirm_birth_date_from_id": True}, "GENDER_CONTRADICTS_ID")
    # Both contradict: one answer names both, and both confirmations.
    boy_of_another_day = new_id_number(born + dt.timedelta(days=1), male=True)
    both = await refused({"id_number": boy_of_another_day}, "BIRTH_DATE_CONTRADICTS_ID")
    for part in (
        f"birth date {birth_date(boy_of_another_day)}, but {born} is recorded",
        "gender male, but female is recorded",
    ):
        assert part in both["detail"]
    assert "confirm_birth_date_from_id: true and confirm_gender_from_id: true" in both["detail"]
    await refused(
        {"id_number": boy_of_another_day, "confirm_gender_from_id": True},
        "BIRTH_DATE_CONTRADICTS_ID",
    )
    alone = await client.patch(url, json={"confirm_gender_from_id": True}, headers=clerk)
    assert alone.status_code == 422
    unchanged = (await client.get(f"/households/{hid}", headers=clerk)).json()
    assert unchanged["version"] == household["version"]
    kept = next(m for m in unchanged["members"] if m["id"] == pending["id"])
    assert (kept["id_pending"], kept["gender"], kept["birth_date"]) == (True, "female", str(born))

    confirmed = await client.patch(
        url, json={"id_number": a_boy, "confirm_gender_from_id": True}, headers=clerk
    )
    assert confirmed.status_code == 200, confirmed.text
    taken = next(m for m in confirmed.json()["members"] if m["id"] == pending["id"])
    assert (taken["id_pending"], taken["gender"], taken["birth_date"]) == (False, "male", str(born))
