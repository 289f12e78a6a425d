"""Six identical creates at once (a client retrying a timed-out request): exactly one is
created, the others get the documented 409, never a 500 from the unique constraint."""

from __future__ import annotations

import asyncio

from registry_testdata import household_body, new_id_number
from sqlalchemy import text
from test_helpers import TODAY, new_helper, new_household
from workflow_steps import set_today

from registry.conflicts import CONSTRAINT_PROBLEMS

N = 6


async def at_once(client, url: str, body: dict, headers: dict) -> list:
    return await asyncio.gather(*(client.post(url, json=body, headers=headers) for _ in range(N)))


def assert_one_created(responses, *codes: str) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (N - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= set(codes)


async def count(registry_app, sql: str) -> int:
    async with registry_app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def test_every_declared_constraint_exists(client, registry_app):
    """A renamed constraint would silently turn its 409 into the generic one."""
    names = list(CONSTRAINT_PROBLEMS)
    async with registry_app.state.runtime.engine.connect() as conn:
        found = set(
            (
                await conn.execute(
                    text(
                        "SELECT conname FROM pg_constraint WHERE conname = ANY(:n) "
                        "UNION SELECT indexname FROM pg_indexes WHERE indexname = ANY(:n)"
                    ),
                    {"n": names},
                )
            ).scalars()
        )
    assert found == set(names)


async def test_one_household_for_the_same_people_at_once(client, auth_keys, registry_app):
    headers = auth_keys.headers()
    responses = await at_once(client, "/households", household_body(), headers)
    assert_one_created(responses, "ID_NUMBER_TAKEN")
    assert await count(registry_app, "SELECT count(*) FROM households") == 1
    assert await count(registry_app, "SELECT count(*) FROM members") == 3


async def test_one_member_for_the_same_person_at_once(client, auth_keys, registry_app):
    headers = auth_keys.headers()
    hid = await new_household(client, headers, members=2)
    member = {"name": "马小军", "id_number": new_id_number(), "relation": "child"}
    responses = await at_once(client, f"/households/{hid}/members", member, headers)
    assert_one_created(responses, "ID_NUMBER_TAKEN")
    assert await count(registry_app, "SELECT count(*) FROM members") == 3


async def test_one_primary_helper_at_once(client, auth_keys, registry_app):
    set_today(registry_app, TODAY)
    headers = auth_keys.headers()
    hid = await new_household(client, headers)
    helper = await new_helper(client, headers)
    url = f"/households/{hid}/helper-assignments"
    responses = await at_once(client, url, {"helper_id": helper["id"]}, headers)
    assert_one_created(responses, "ALREADY_ASSIGNED", "PRIMARY_HELPER_EXISTS")
    assert await count(registry_app, "SELECT count(*) FROM helper_assignments") == 1
