"""The education service answers, and only to callers with its scope."""

from __future__ import annotations

from education_testdata import COUNTY, OTHER_COUNTY, TOWNSHIP

from education.models import audit_table
from kit.audit import AuditLog


async def test_changes_in_the_callers_region(client, education_app, auth_keys):
    async with education_app.state.runtime.sessionmaker() as session, session.begin():
        for region in (TOWNSHIP, OTHER_COUNTY):
            await AuditLog(audit_table).record(
                session,
                actor="test",
                action="thing.created",
                entity="thing",
                entity_id=region,
                region_code=region,
            )
    headers = auth_keys.headers("county_admin", COUNTY, scopes=("education:read",))

    response = await client.get("/changes", headers=headers)

    assert response.status_code == 200, response.text
    assert [entry["region_code"] for entry in response.json()] == [TOWNSHIP]


async def test_changes_need_the_scope(client, auth_keys):
    headers = auth_keys.headers("county_admin", COUNTY, scopes=("status:read",))
    assert (await client.get("/changes", headers=headers)).status_code == 403
    assert (await client.get("/changes")).status_code == 401
