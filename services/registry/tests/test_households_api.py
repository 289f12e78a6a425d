"""Registry households and members through the HTTP API, against real PostgreSQL and NATS."""

from __future__ import annotations

import datetime as dt

import pytest
from registry_testdata import (
    NOT_REGION_EVENTS,
    OTHER_VILLAGE,
    VILLAGE,
    household_body,
    new_id_number,
)

from contracts.resident_id import compose


async def test_create_then_read_with_and_without_pii(client, auth_keys):
    body = household_body()
    created = await client.post(
        "/households", json=body, headers=auth_keys.headers("registry_clerk")
    )
    assert created.status_code == 201, created.text
    household = created.json()
    assert household["version"] == 1
    assert household["head_name"] == "马建国"
    assert [m["id_number"] for m in household["members"]] == [
        m["id_number"] for m in body["members"]
    ]

    masked = await client.get(
        f"/households/{household['id']}", headers=auth_keys.headers("auditor")
    )
    assert masked.status_code == 200
    first = masked.json()["members"][0]
    assert first["id_number_masked"] is True
    real = body["members"][0]["id_number"]
    assert first["id_number"] == real[:4] + "*" * 13 + real[-1]
    assert real not in masked.text
    # beside any part of the number, the birth date would give it back: the year only
    assert first["birth_date"] is None and first["birth_year"] == int(real[6:10])
    assert household["members"][0]["birth_date"] == f"{real[6:10]}-{real[10:12]}-{real[12:14]}"


async def test_gender_and_birth_date_come_from_the_id_number(client, auth_keys):
    household = (
        await client.post("/households", json=household_body(), headers=auth_keys.headers())
    ).json()
    spouse = household["members"][1]
    assert spouse["gender"] == "female"
    assert spouse["birth_date"].startswith("1970-05")


async def test_list_filters_by_region_and_state_with_pagination(client, auth_keys):
    headers = auth_keys.headers()
    for state in ["registered", "registered", "exited"]:
        assert (
            await client.post(
                "/households", json=household_body(poverty_state=state), headers=headers
            )
        ).status_code == 201
    await client.post(
        "/households",
        json=household_body(region_code=OTHER_VILLAGE, poverty_state="candidate"),
        headers=headers,
    )

    everything = (await client.get("/households", headers=headers)).json()
    assert everything["total"] == 4
    registered = (
        await client.get("/households", params={"poverty_state": "registered"}, headers=headers)
    ).json()
    assert registered["total"] == 2 and all(
        h["poverty_state"] == "registered" for h in registered["items"]
    )
    both = (
        await client.get(
            "/households",
            params=[("poverty_state", "registered"), ("poverty_state", "exited")],
            headers=headers,
        )
    ).json()
    assert both["total"] == 3
    township = (
        await client.get("/households", params={"region": "622924101000"}, headers=headers)
    ).json()
    assert township["total"] == 1 and township["items"][0]["region_code"] == OTHER_VILLAGE
    page2 = (await client.get("/households", params={"size": 3, "page": 2}, headers=headers)).json()
    assert page2["total"] == 4 and len(page2["items"]) == 1
    past_the_end = await client.get("/households", params={"size": 3, "page": 5}, headers=headers)
    assert past_the_end.json()["total"] == 4 and past_the_end.json()["items"] == []
    nothing = await client.get("/households", params={"name": "无此人"}, headers=headers)
    assert nothing.json()["total"] == 0 and nothing.json()["items"] == []
    # A village cadre sees only the village's households.
    cadre = (
        await client.get("/households", headers=auth_keys.headers("village_cadre", VILLAGE))
    ).json()
    assert cadre["total"] == 3
    # Filtering on a region outside one's own is refused, as the gateway refuses it
    for path in ("/households", "/helpers", "/alerts"):
        outside = await client.get(
            path,
            params={"region": OTHER_VILLAGE},
            headers=auth_keys.headers("village_cadre", VILLAGE),
        )
        assert outside.status_code == 403, (path, outside.text)
        assert outside.json()["code"] == "OUTSIDE_REGION"
        assert outside.json()["errors"][0]["field"] == "query.region"
    # A NUL in a filter is a 422 naming it (PostgreSQL cannot hold it: it was a 500)
    nul = await client.get("/households?name=a%00b", headers=headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "query.name"


async def test_each_search_filter_narrows_the_list(client, auth_keys):
    headers = auth_keys.headers()
    first = household_body(members=2, causes=["disability"], primary_cause="disability")
    first["members"][0]["name"] = "李%_明"  # LIKE wildcards in a name match only themselves
    second = household_body(members=4, assistance_type="dibao", monitoring_category="marginal")
    ids = []
    for body in (first, second):
        created = await client.post("/households", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])

    async def found(**params) -> list[str]:
        response = await client.get("/households", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return [h["id"] for h in page["items"]]

    assert await found() == [ids[1], ids[0]]  # newest first
    assert await found(cause="disability") == [ids[0]]
    assert await found(cause="illness") == [ids[1]]
    assert await found(assistance_type="dibao") == [ids[1]]
    assert await found(monitoring_category="marginal") == [ids[1]]
    assert await found(name="李%_") == [ids[0]]
    assert await found(name="李%x") == [] and await found(name="李_") == []
    assert await found(name="马", cause="illness", region="622924100000") == [ids[1]]
    summary = (await client.get("/households", params={"size": 1}, headers=headers)).json()
    assert summary["total"] == 2 and summary["items"][0]["member_count"] == 4
    assert summary["items"][0]["head_name"] == "马建国"


async def test_update_changes_fields_and_bumps_version(client, auth_keys):
    headers = auth_keys.headers()
    household = (await client.post("/households", json=household_body(), headers=headers)).json()
    updated = await client.patch(
        f"/households/{household['id']}",
        json={
            "assistance_type": "dibao",
            "survey": {
                "survey_year": 2026,
                "income_items": {"wage": "9000.00", "transfer": "3300.01"},
            },
        },
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["assistance_type"] == "dibao"
    # 12300.01 ÷ 3 persons = 4100.003… → 4100.00 (half-up to the fen)
    assert updated.json()["survey"]["per_capita_net_income"] == "4100.00"
    assert updated.json()["version"] == 2
    same_again = await client.patch(
        f"/households/{household['id']}", json={"assistance_type": "dibao"}, headers=headers
    )
    assert same_again.json()["version"] == 2  # no change, no event


async def test_members_added_updated_removed(client, auth_keys):
    headers = auth_keys.headers()
    household = (
        await client.post("/households", json=household_body(members=2), headers=headers)
    ).json()
    hid = household["id"]
    added = await client.post(
        f"/households/{hid}/members",
        json={
            "name": "马小军",
            "id_number": new_id_number(),
            "relation": "child",
            "labour_capacity": "none",
        },
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert len(added.json()["members"]) == 3 and added.json()["version"] == 2
    child = next(m for m in added.json()["members"] if m["name"] == "马小军")
    renamed = await client.patch(
        f"/households/{hid}/members/{child['id']}", json={"name": "马晓军"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["version"] == 3
    removed = await client.delete(f"/households/{hid}/members/{child['id']}", headers=headers)
    assert removed.status_code == 200
    assert len(removed.json()["members"]) == 2 and removed.json()["version"] == 4
    head = household["members"][0]
    refused = await client.delete(f"/households/{hid}/members/{head['id']}", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "HEAD_REQUIRED"


async def test_one_person_one_household(client, auth_keys):
    headers = auth_keys.headers()
    first = household_body()
    assert (await client.post("/households", json=first, headers=headers)).status_code == 201
    second = household_body()
    second["members"][1]["id_number"] = first["members"][1]["id_number"]
    conflict = await client.post("/households", json=second, headers=headers)
    assert conflict.status_code == 409
    problem = conflict.json()
    assert conflict.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "ID_NUMBER_TAKEN"
    assert problem["errors"][0]["field"] == "body.members.1.id_number"
    assert "one household at a time" in problem["detail"]
    assert (await client.get("/households", headers=headers)).json()["total"] == 1

    other = (await client.post("/households", json=household_body(), headers=headers)).json()
    moved = await client.post(
        f"/households/{other['id']}/members",
        json={"name": "马建国", "id_number": first["members"][0]["id_number"], "relation": "other"},
        headers=headers,
    )
    assert moved.status_code == 409 and moved.json()["code"] == "ID_NUMBER_TAKEN"


def _bad(mutate):
    body = household_body()
    mutate(body)
    return body


BAD_INPUTS = {
    "bad check digit": (
        lambda b: b["members"][0].update(
            id_number=b["members"][0]["id_number"][:17]
            + ("0" if b["members"][0]["id_number"][17] != "0" else "1")
        ),
        "body.members.0.id_number",
    ),
    "birth date in the future": (
        lambda b: b["members"][0].update(
            id_number=__import__("contracts.resident_id", fromlist=["compose"]).compose(
                "622924", __import__("datetime").date(2099, 1, 1), 11
            )
        ),
        "body.members.0.id_number",
    ),
    "15-digit legacy number": (
        lambda b: b["members"][0].update(id_number="622924750308123"),
        "body.members.0.id_number",
    ),
    "region code too short": (lambda b: b.update(region_code="62292410020"), "body.region_code"),
    "region code with letters": (
        lambda b: b.update(region_code="62292410020X"),
        "body.region_code",
    ),
    "unknown region": (lambda b: b.update(region_code="622924199299"), "body.region_code"),
    "region is not a village": (lambda b: b.update(region_code="622924100000"), "body.region_code"),
    "negative income": (
        lambda b: b.update(per_capita_net_income="-1.00"),
        "body.per_capita_net_income",
    ),
    "income with 3 decimals": (
        lambda b: b.update(per_capita_net_income="1.005"),
        "body.per_capita_net_income",
    ),
    "unknown field": (lambda b: b.update(favourite_colour="red"), "body.favourite_colour"),
    "unknown member field": (
        lambda b: b["members"][0].update(nickname="x"),
        "body.members.0.nickname",
    ),
    "oversized name": (lambda b: b["members"][0].update(name="马" * 51), "body.members.0.name"),
    "oversized string in enum": (
        lambda b: b.update(poverty_state="x" * 5000),
        "body.poverty_state",
    ),
    "a prefecture's address code": (
        lambda b: b["members"][0].update(
            id_number=__import__("contracts.resident_id", fromlist=["compose"]).compose(
                "622902", __import__("datetime").date(1980, 1, 1), 11
            )
        ),
        "body.members.0.id_number",
    ),
    "NUL in a name": (lambda b: b["members"][0].update(name="马\x00"), "body.members.0.name"),
    "birth date before 1900": (
        lambda b: b["members"][0].update(id_number=None, gender="male", birth_date="1899-12-31"),
        "body.members.0.birth_date",
    ),
    "unknown cause": (lambda b: b.update(causes=["laziness"]), "body.causes.0"),
    "two heads": (lambda b: b["members"][1].update(relation="head"), "body.members"),
    "primary cause not among causes": (
        lambda b: b.update(primary_cause="disaster"),
        "body.primary_cause",
    ),
    "huge group number": (lambda b: b.update(group_no=10**12), "body.group_no"),
    "no members": (lambda b: b.update(members=[]), "body.members"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client, auth_keys, registry_app, case
):
    mutate, field = BAD_INPUTS[case]
    headers = auth_keys.headers()
    response = await client.post("/households", json=_bad(mutate), headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert (await client.get("/households", headers=headers)).json()["total"] == 0
    async with registry_app.state.runtime.engine.connect() as conn:
        from sqlalchemy import text

        assert (
            await conn.execute(text(f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}"))
        ).scalar_one() == 0


async def test_malformed_json_and_bad_query_are_422(client, auth_keys):
    headers = {**auth_keys.headers(), "content-type": "application/json"}
    assert (
        await client.post("/households", content=b"{not json", headers=headers)
    ).status_code == 422
    assert (await client.get("/households", params={"size": 0}, headers=headers)).status_code == 422
    assert (
        await client.get("/households", params={"poverty_state": "rich"}, headers=headers)
    ).status_code == 422
    assert (await client.get("/households/not-a-uuid", headers=headers)).status_code == 422
    empty = await client.patch(
        "/households/00000000-0000-0000-0000-000000000000", json={}, headers=headers
    )
    assert empty.status_code == 422


async def test_explicit_null_cannot_blank_a_required_field(client, auth_keys):
    """Found by the fuzzer: a null in a partial update once reached the database (500)."""
    headers = auth_keys.headers()
    household = (await client.post("/households", json=household_body(), headers=headers)).json()
    member = household["members"][1]
    bad_member = await client.patch(
        f"/households/{household['id']}/members/{member['id']}",
        json={"labour_capacity": None},
        headers=headers,
    )
    assert bad_member.status_code == 422 and "cannot be null" in bad_member.text
    bad_household = await client.patch(
        f"/households/{household['id']}", json={"causes": None}, headers=headers
    )
    assert bad_household.status_code == 422
    cleared = await client.patch(
        f"/households/{household['id']}", json={"group_no": None}, headers=headers
    )
    assert cleared.status_code == 200 and cleared.json()["group_no"] is None
    again = (await client.get(f"/households/{household['id']}", headers=headers)).json()
    assert again["members"][1]["labour_capacity"] == "able" and again["version"] == 2


async def test_oversized_body_is_413_and_writes_nothing(client, auth_keys):
    body = household_body()
    body["members"][0]["name"] = "马" * 2_000_000  # about 6 MB
    response = await client.post("/households", json=body, headers=auth_keys.headers())
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/households", headers=auth_keys.headers())).json()["total"] == 0


async def test_oversized_streamed_body_is_413(client, auth_keys):
    """No Content-Length (chunked upload): the limit still holds while the body streams in."""

    async def chunks():
        yield b'{"region_code": "622924100201", "members": [{"name": "'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"}]}'

    response = await client.post(
        "/households",
        content=chunks(),
        headers={**auth_keys.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["code"] == "BODY_TOO_LARGE"


async def test_search_by_name_cause_category_and_assistance(client, auth_keys):
    headers = auth_keys.headers()
    first = household_body(causes=["disability", "lack_land"], primary_cause="disability")
    first["members"][0]["name"] = "韩玉兰"
    await client.post("/households", json=first, headers=headers)
    await client.post("/households", json=household_body(assistance_type="dibao"), headers=headers)

    async def found(**params) -> int:
        response = await client.get("/households", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert await found(name="韩玉") == 1
    assert await found(name="%") == 0  # a wildcard is a plain character here
    assert await found(cause="lack_land") == 1
    assert await found(cause=["lack_land", "illness"]) == 2
    assert await found(assistance_type="dibao") == 1
    assert await found(monitoring_category="marginal") == 0
    assert await found(monitoring_category="none", poverty_state="registered") == 2


async def test_lookup_by_id_number_and_history(client, auth_keys):
    headers = auth_keys.headers()
    body = household_body()
    number = body["members"][1]["id_number"]
    household = (await client.post("/households", json=body, headers=headers)).json()
    found = await client.post("/persons/lookup", json={"id_number": number}, headers=headers)
    assert found.status_code == 200, found.text
    assert found.json()["household_id"] == household["id"]
    assert found.json()["member"]["id_number"] == number
    masked = await client.post(
        "/persons/lookup", json={"id_number": number}, headers=auth_keys.headers("auditor")
    )
    assert masked.json()["member"]["id_number"] != number
    assert masked.json()["member"]["id_number_masked"] is True
    unknown = await client.post(
        "/persons/lookup", json={"id_number": new_id_number()}, headers=headers
    )
    assert unknown.status_code == 404
    crafted = compose("622902", dt.date(1980, 1, 1), 11)  # a prefecture's code: stdnum's KeyError
    refused = await client.post("/persons/lookup", json={"id_number": crafted}, headers=headers)
    assert refused.status_code == 422 and "address code" in refused.json()["errors"][0]["reason"]
    outside = await client.post(
        "/persons/lookup",
        json={"id_number": number},
        headers=auth_keys.headers("village_cadre", OTHER_VILLAGE),
    )
    assert outside.status_code == 404

    await client.patch(
        f"/households/{household['id']}", json={"assistance_type": "tekun"}, headers=headers
    )
    history = (await client.get(f"/households/{household['id']}/history", headers=headers)).json()
    assert [e["action"] for e in history] == ["household.created", "household.updated"]
    assert history[1]["before"]["assistance_type"] == "general"
    assert history[1]["after"]["assistance_type"] == "tekun"
    assert history[1]["actor"] and history[0]["before"] is None
    assert number not in str(history)  # the audit log keeps masked numbers only
    assert history[0]["after"]["per_capita_net_income"] == "2800.50"
    without_pii = await client.get(
        f"/households/{household['id']}/history", headers=auth_keys.headers("auditor")
    )
    assert "per_capita_net_income" not in without_pii.json()[0]["after"]
    members = without_pii.json()[0]["after"]["members"]
    assert [m["birth_year"] for m in members] == [
        int(m["id_number"][6:10]) for m in body["members"]
    ]
    assert all("birth_date" not in m for m in members)
    assert all("birth_date" in m for m in history[0]["after"]["members"])  # with pii:read


async def test_matches_of_many_id_numbers_in_the_callers_region(client, auth_keys):
    """POST /persons/matches: each number's person, in the request's order, through the
    keyed hash; a person outside the caller's region is as unknown; the numbers are not
    echoed back."""
    headers = auth_keys.headers()
    here = (await client.post("/households", json=household_body(), headers=headers)).json()
    there_body = household_body(region_code=OTHER_VILLAGE)
    there = (await client.post("/households", json=there_body, headers=headers)).json()
    numbers = [
        there_body["members"][0]["id_number"],
        new_id_number(),  # nobody's
        here["members"][1]["id_number"],
    ]
    answer = await client.post("/persons/matches", json={"id_numbers": numbers}, headers=headers)
    assert answer.status_code == 200, answer.text
    matches = answer.json()["matches"]
    assert [(m["index"], m["found"]) for m in matches] == [(0, True), (1, False), (2, True)]
    assert matches[0]["household_id"] == there["id"]
    assert matches[0]["region_code"] == OTHER_VILLAGE
    assert (matches[2]["member_id"], matches[2]["household_id"]) == (
        here["members"][1]["id"],
        here["id"],
    )
    assert matches[1]["member_id"] is None
    assert not any(number in answer.text for number in numbers)

    # A village's officer finds only their village's persons.
    village = auth_keys.headers("village_cadre", VILLAGE)
    scoped = await client.post("/persons/matches", json={"id_numbers": numbers}, headers=village)
    assert [m["found"] for m in scoped.json()["matches"]] == [False, False, True]

    bad = await client.post(
        "/persons/matches", json={"id_numbers": ["not a number"]}, headers=headers
    )
    assert bad.status_code == 422
    too_many = [new_id_number() for _ in range(1001)]
    refused = await client.post("/persons/matches", json={"id_numbers": too_many}, headers=headers)
    assert refused.status_code == 422
    empty = await client.post("/persons/matches", json={"id_numbers": []}, headers=headers)
    assert empty.status_code == 422
