"""Screening red flags, 贫困发生率 against the quota, and 错评/错退/漏评 rates from adjustments
made through the real workflow API (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body
from sqlalchemy import text
from workflow_steps import COUNTY, ok_step, set_today

SOUTH_VILLAGE = "622924100202"  # 南关村, 城关镇
TOWNSHIP = "622924100000"  # 城关镇
OTHER_TOWNSHIP = "622924101000"  # 三甲集镇
_names = itertools.count(1)


async def new_household(client, headers, region=VILLAGE, members=3, survey=None, **overrides):
    body = household_body(region, members=members, **overrides)
    for member in body["members"]:  # the test bodies share names and birth dates: not here
        member["name"] = f"{member['name']}{next(_names)}"
    if survey is not None:
        body["survey"] = survey
    if body["poverty_state"] == "candidate":
        body["evidence"] = []
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def set_regions(app, **populations) -> None:
    async with app.state.runtime.engine.begin() as conn:
        for code, (population, key) in populations.items():
            await conn.execute(
                text("UPDATE regions SET population = :p, key_poor_village = :k WHERE code = :c"),
                {"p": population, "k": key, "c": code},
            )


async def red_flags(client, headers, **params) -> dict:
    response = await client.get("/screening/red-flags", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_red_flags_of_each_kind(client, auth_keys, registry_app):
    admin = auth_keys.headers("county_admin", COUNTY)
    car = await new_household(
        client, admin, survey={"survey_year": 2025, "assets": ["car", "livestock"]}
    )
    rich = await new_household(
        client, admin, survey={"survey_year": 2025, "per_capita_net_income": "3322.01"}
    )
    at_line = await new_household(
        client, admin, survey={"survey_year": 2025, "per_capita_net_income": "3322.00"}
    )
    await new_household(  # not registered: a car is no red flag
        client,
        admin,
        poverty_state="candidate",
        survey={"survey_year": 2025, "assets": ["car", "urban_house"]},
    )
    await new_household(  # exited households may have moved above the line
        client,
        admin,
        poverty_state="exited",
        survey={"survey_year": 2025, "per_capita_net_income": "9000.00"},
    )
    # the head of `at_line` entered again, without an ID number, in another village
    head = at_line["members"][0]
    twin = await new_household(client, admin, region=OTHER_VILLAGE)
    added = await client.post(
        f"/households/{twin['id']}/members",
        json={
            "name": head["name"],
            "gender": head["gender"],
            "birth_date": head["birth_date"],
            "relation": "sibling",
        },
        headers=admin,
    )
    assert added.status_code == 201, added.text

    everything = await red_flags(client, admin)
    found = {(f["household_id"], f["kind"]) for f in everything["items"]}
    assert found == {
        (car["id"], "car_or_urban_house"),
        (rich["id"], "above_income_line"),
        (at_line["id"], "duplicates"),
        (twin["id"], "duplicates"),
    }
    assert everything["total"] == 4
    by_kind = {f["kind"]: f for f in everything["items"] if f["household_id"] != twin["id"]}
    assert "小汽车 (car)" in by_kind["car_or_urban_house"]["reason"]
    assert "3322.01" in by_kind["above_income_line"]["reason"]
    assert "3322.00" in by_kind["above_income_line"]["reason"]
    assert (
        head["name"] in by_kind["duplicates"]["reason"]
        and "三甲集村" in (by_kind["duplicates"]["reason"])
    )
    assert by_kind["car_or_urban_house"]["village_name"] == "城关村"
    assert by_kind["car_or_urban_house"]["head_name"] == car["members"][0]["name"]

    only_cars = await red_flags(client, admin, kind="car_or_urban_house")
    assert [f["household_id"] for f in only_cars["items"]] == [car["id"]]
    # the line is a policy parameter: raised for 2025, the income is no longer above it
    await client.put(
        "/policy/poverty_line",
        json={"region_code": COUNTY, "year": 2025, "value": "3500.00", "reason": "省定标准"},
        headers=admin,
    )
    assert (await red_flags(client, admin, kind="above_income_line"))["total"] == 0
    # a township official sees only their township's flags
    township = auth_keys.headers("registry_clerk", OTHER_TOWNSHIP)
    theirs = await red_flags(client, township)
    assert [f["household_id"] for f in theirs["items"]] == [twin["id"]]
    assert "outside your region" in theirs["items"][0]["reason"]
    # assets and income are personal data
    auditor = auth_keys.headers("auditor", COUNTY)
    assert (await client.get("/screening/red-flags", headers=auditor)).status_code == 403


async def test_incidence_with_known_and_unknown_population_and_key_villages(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, dt.date(2026, 5, 1))
    await set_regions(
        registry_app,
        **{VILLAGE: (10, False), SOUTH_VILLAGE: (None, False), OTHER_VILLAGE: (6, True)},
    )
    await new_household(client, admin, region=VILLAGE, members=3)
    await new_household(client, admin, region=VILLAGE, members=2, poverty_state="exited")
    await new_household(client, admin, region=OTHER_VILLAGE, members=3, poverty_state="returned")
    await new_household(client, admin, region=SOUTH_VILLAGE, members=1)

    async def report(**params) -> dict:
        response = await client.get("/reports/incidence", params=params, headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        return {r["region_code"]: r for r in body["villages"] + body["townships"]}

    rows = await report()
    village, south, key = rows[VILLAGE], rows[SOUTH_VILLAGE], rows[OTHER_VILLAGE]
    assert (village["poor_households"], village["poor_persons"], village["population"]) == (
        1,
        3,
        10,
    )
    assert (Decimal(village["rate"]), Decimal(village["quota"]), village["above_quota"]) == (
        Decimal("0.3"),
        Decimal("0.05"),
        True,
    )
    # 3 of 6 in a key poor village: exactly the 50% average, not above it
    assert (Decimal(key["rate"]), Decimal(key["quota"]), key["above_quota"]) == (
        Decimal("0.5"),
        Decimal("0.5"),
        False,
    )
    assert south["rate"] is None and south["above_quota"] is None
    assert "not recorded" in south["reason"]
    assert rows[TOWNSHIP]["rate"] is None and "南关村" in rows[TOWNSHIP]["reason"]
    assert rows[TOWNSHIP]["poor_persons"] == 4
    assert Decimal(rows[OTHER_TOWNSHIP]["rate"]) == Decimal("0.5")

    await set_regions(registry_app, **{SOUTH_VILLAGE: (30, False)})
    township = (await report(region=TOWNSHIP))[TOWNSHIP]
    assert (township["poor_persons"], township["population"]) == (4, 40)
    assert Decimal(township["rate"]) == Decimal("0.1") and township["above_quota"] is True
    assert Decimal(township["quota"]) == Decimal("0.05")

    # The denominator is a parameter: total population is not recorded here.
    await client.put(
        "/policy/incidence.denominator",
        json={
            "region_code": COUNTY,
            "year": 2026,
            "value": "total_population",
            "reason": "按总人口计算",
        },
        headers=admin,
    )
    switched = await report(region=TOWNSHIP)
    assert switched[VILLAGE]["denominator"] == "total_population"
    assert switched[VILLAGE]["rate"] is None and "total_population" in switched[VILLAGE]["reason"]
    assert OTHER_VILLAGE not in switched  # the report covers the asked township only

    clerk = auth_keys.headers("registry_clerk", OTHER_TOWNSHIP)
    refused = await client.get("/reports/incidence", params={"region": TOWNSHIP}, headers=clerk)
    assert refused.status_code == 403 and refused.json()["code"] == "OUTSIDE_REGION"


async def test_quality_rates_from_adjustments_made_through_the_workflow(
    client, auth_keys, registry_app
):
    admin = auth_keys.headers("county_admin", COUNTY)
    set_today(registry_app, dt.date(2026, 8, 20))
    registered = [(await new_household(client, admin))["id"] for _ in range(4)]
    exited = [(await new_household(client, admin, poverty_state="exited"))["id"] for _ in range(2)]
    candidates = [
        (await new_household(client, admin, poverty_state="candidate"))["id"] for _ in range(2)
    ]
    # 错评: one 清退 for not meeting the standard; a duplicate entry is no 错评, nor is a
    # removal that took effect in 2025
    await ok_step(
        client, registered[0], "remove", admin, reason="wrongly_included", reason_text="收入超标"
    )
    await ok_step(
        client, registered[1], "remove", admin, reason="duplicate", reason_text="重复录入"
    )
    await ok_step(
        client,
        registered[2],
        "remove",
        admin,
        reason="unexplained_car_house",
        reason_text="有车不能解释",
        effective_month="2025-12",
    )
    # 错退: one exit rolled back (回退); 漏评: one candidate backfilled (补录)
    await ok_step(client, exited[0], "rollback", admin, reason_text="脱贫不实")
    await ok_step(client, candidates[0], "backfill", admin, reason_text="漏评补录")

    async def report(**params) -> dict:
        response = await client.get("/reports/quality", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    body = await report(year=2026)
    # now: registered 1 + rolled back 1 + backfilled 1 = 3; exited 1; 1 candidate + 3 removed
    assert body["households"] == {"registered": 3, "exited": 1, "non_registered": 4}
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert [metrics[k]["found"] for k in ("wrong_inclusion", "wrong_exit", "omission")] == [1, 1, 1]
    assert (metrics["wrong_inclusion"]["base"], metrics["wrong_inclusion"]["rate"]) == (4, "0.2500")
    assert (metrics["wrong_exit"]["base"], metrics["wrong_exit"]["rate"]) == (2, "0.5000")
    assert (metrics["omission"]["base"], metrics["omission"]["rate"]) == (5, "0.2000")
    assert [metrics[k]["limit"] for k in ("wrong_inclusion", "wrong_exit", "omission")] == [
        "0.02",
        "0.02",
        "0.03",
    ]
    assert not any(m["within_limit"] for m in metrics.values())
    assert metrics["wrong_inclusion"]["label"] == "错评率"

    # 2025 holds the one car/house removal; a looser 2025 limit of 50% is kept
    await client.put(
        "/policy/quality.max_rate.wrong_inclusion",
        json={"region_code": COUNTY, "year": 2025, "value": "0.5", "reason": "试点"},
        headers=admin,
    )
    earlier = {m["metric"]: m for m in (await report(year=2025))["metrics"]}
    assert earlier["wrong_inclusion"]["found"] == 1 and earlier["wrong_inclusion"]["within_limit"]
    assert earlier["wrong_exit"]["found"] == 0 and earlier["wrong_exit"]["within_limit"] is True

    # another township has no adjustments, and a township cannot look at another
    clerk = auth_keys.headers("registry_clerk", OTHER_TOWNSHIP)
    theirs = (await client.get("/reports/quality", params={"year": 2026}, headers=clerk)).json()
    assert [m["found"] for m in theirs["metrics"]] == [0, 0, 0]
    assert all(m["rate"] is None for m in theirs["metrics"])
    refused = await client.get("/reports/quality", params={"region": TOWNSHIP}, headers=clerk)
    assert refused.status_code == 403
    bad_year = await client.get("/reports/quality", params={"year": 0}, headers=admin)
    assert bad_year.status_code == 422
