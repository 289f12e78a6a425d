"""Policy parameters: seed defaults, overrides by region subtree and year, audited."""

from __future__ import annotations

import pytest
from registry_testdata import VILLAGE
from sqlalchemy import text

COUNTY, TOWNSHIP = "622924000000", "622924100000"


async def _value(client, headers, key: str, region: str, year: int):
    response = await client.get("/policy", params={"region": region, "year": year}, headers=headers)
    assert response.status_code == 200, response.text
    return next(p for p in response.json() if p["key"] == key)


async def test_defaults_then_most_specific_region_and_latest_year_win(client, auth_keys):
    admin = auth_keys.headers("county_admin", COUNTY)
    line = await _value(client, admin, "poverty_line", VILLAGE, 2026)
    assert line["value"] == "3322.00" and line["source"] == "default"

    async def put(region: str, year: int, value) -> None:
        response = await client.put(
            "/policy/poverty_line",
            json={
                "region_code": region,
                "year": year,
                "value": value,
                "reason": "县政发〔2026〕1号",
            },
            headers=admin,
        )
        assert response.status_code == 200, response.text

    await put(COUNTY, 2026, "3500")
    await put(TOWNSHIP, 2027, "3600.50")
    assert (await _value(client, admin, "poverty_line", VILLAGE, 2025))["value"] == "3322.00"
    in_2026 = await _value(client, admin, "poverty_line", VILLAGE, 2026)
    assert in_2026["value"] == "3500.00" and in_2026["source"] == f"{COUNTY}/2026"
    assert (await _value(client, admin, "poverty_line", VILLAGE, 2030))["value"] == "3600.50"
    # another township keeps the county's value
    assert (await _value(client, admin, "poverty_line", "622924101201", 2030))["value"] == "3500.00"

    history = (await client.get("/policy/poverty_line/history", headers=admin)).json()
    assert [h["after"]["value"] for h in history] == ["3500.00", "3600.50"]
    assert history[0]["before"]["value"] == "3322.00" and history[0]["after"]["reason"]


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("identification.quorum.small_village", "twenty", 422),
        ("identification.quorum.small_village", 1.5, 422),
        ("poverty_line", {"amount": 1}, 422),
        ("no.such.parameter", 1, 404),
    ],
)
async def test_bad_values_are_refused(client, auth_keys, key, value, status):
    response = await client.put(
        f"/policy/{key}",
        json={"region_code": COUNTY, "year": 2026, "value": value, "reason": "test"},
        headers=auth_keys.headers("county_admin", COUNTY),
    )
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["errors"][0]["field"] == "body.value"


async def test_only_policy_writers_within_their_region(client, auth_keys):
    body = {"region_code": COUNTY, "year": 2026, "value": 25, "reason": "test"}
    clerk = await client.put(
        "/policy/identification.quorum.small_village",
        json=body,
        headers=auth_keys.headers("registry_clerk", COUNTY),
    )
    assert clerk.status_code == 403
    township_admin = await client.put(
        "/policy/identification.quorum.small_village",
        json=body,
        headers=auth_keys.headers("county_admin", TOWNSHIP),
    )
    assert township_admin.status_code == 403


async def test_audit_log_is_append_only(client, auth_keys, registry_app):
    await client.put(
        "/policy/exit.publicity_days",
        json={"region_code": COUNTY, "year": 2026, "value": 10, "reason": "test"},
        headers=auth_keys.headers("county_admin", COUNTY),
    )
    async with registry_app.state.runtime.engine.connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()
        assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar() == 1
