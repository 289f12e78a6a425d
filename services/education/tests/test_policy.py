"""Education's policy parameters through the API (DOMAIN §0, §3): listed with their
defaults, overridden for a region subtree and year, and read back by the rules."""

from __future__ import annotations

from decimal import Decimal

from education_testdata import COUNTY, OTHER_COUNTY, TOWNSHIP

from contracts.enums import SchoolStage
from education.policy import (
    DEFAULT_AID_POLICY,
    DEFAULT_COMPULSORY_AGES,
    aid_policy,
    compulsory_ages,
)


async def test_an_override_reaches_the_rules_in_its_region_only(client, education_app, auth_keys):
    reader = auth_keys.headers("county_admin", COUNTY, scopes=("education:read",))
    listed = await client.get("/policy", params={"region": TOWNSHIP, "year": 2024}, headers=reader)
    assert listed.status_code == 200, listed.text
    values = {item["key"]: item for item in listed.json()}
    assert values["aid.boarding.allowance"]["value"] == {"primary": "1000.00", "junior": "1250.00"}
    assert values["compulsory.max_age"]["source"] == "default"

    admin = auth_keys.headers("county_admin", COUNTY)
    for key, value in (
        ("aid.boarding.allowance", {"primary": "1100.00", "junior": "1250.00"}),
        ("compulsory.max_age", 16),
    ):
        changed = await client.put(
            f"/policy/{key}",
            json={"region_code": COUNTY, "year": 2025, "value": value, "reason": "县教育局文件"},
            headers=admin,
        )
        assert changed.status_code == 200, changed.text

    async with education_app.state.runtime.sessionmaker() as session:
        aid = await aid_policy(session, TOWNSHIP, 2025)
        assert aid.boarding_allowance[SchoolStage.primary] == Decimal("1100.00")
        assert aid.nutrition_daily == Decimal("4.00")  # not overridden: the default
        assert (await compulsory_ages(session, TOWNSHIP, 2025)).last_age == 16
        # an earlier year and another county keep the seeds' values
        assert await aid_policy(session, TOWNSHIP, 2024) == DEFAULT_AID_POLICY
        assert await aid_policy(session, OTHER_COUNTY, 2025) == DEFAULT_AID_POLICY
        assert await compulsory_ages(session, OTHER_COUNTY, 2025) == DEFAULT_COMPULSORY_AGES
