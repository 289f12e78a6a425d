"""Who may read health's policy parameters: their readers, and whoever may change them."""

from __future__ import annotations

COUNTY = "622924000000"
KEY = "critical.cii_deductible_waived"


async def test_the_role_that_may_write_policy_may_read_it(client, auth_keys):
    admin = auth_keys.headers("county_admin", COUNTY)  # policy:write, no health:read
    changed = await client.put(
        f"/policy/{KEY}",
        json={"region_code": COUNTY, "year": 2025, "value": False, "reason": "县医保局文件"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    listed = await client.get("/policy", params={"year": 2025}, headers=admin)
    assert listed.status_code == 200
    assert {p["key"]: p["value"] for p in listed.json()}[KEY] is False
    history = await client.get(f"/policy/{KEY}/history", headers=admin)
    assert history.status_code == 200 and len(history.json()) == 1
    officer = auth_keys.headers("health_officer", COUNTY)  # health:read
    assert (await client.get("/policy", headers=officer)).status_code == 200
    dashboard = await client.get("/policy", headers=auth_keys.headers("dashboard", COUNTY))
    assert dashboard.status_code == 403
    assert "health:read, policy:write" in dashboard.json()["detail"]
