"""Authentication and authorisation on the registry's routes (deny by default)."""

from __future__ import annotations

import datetime as dt

from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body

from devstack.project import role_token
from kit.app import api_routes, is_public, route_scopes
from kit.auth import create_key_pair


async def test_no_token_is_401(client):
    response = await client.get("/households")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_bad_signature_is_401(client, tmp_path):
    stranger, _ = create_key_pair(tmp_path)  # a key the service does not trust
    token = role_token(stranger.read_bytes(), role="county_admin", region="622924000000")
    response = await client.get("/households", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["code"] == "INVALID_TOKEN"


async def test_garbage_token_is_401(client):
    response = await client.get("/households", headers={"Authorization": "Bearer t7e3.t7e3.x"})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("the bearer token is not a valid JWT")


async def test_token_for_another_audience_or_too_long_is_401(client, auth_keys):
    """The service's settings require the platform's audience and cap the lifetime."""
    for token in (
        auth_keys.token(audience="another-application"),
        auth_keys.token(ttl=dt.timedelta(hours=13)),
    ):
        response = await client.get("/households", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json()["code"] == "INVALID_TOKEN"
    assert (await client.get("/households", headers=auth_keys.headers())).status_code == 200


async def test_expired_token_is_401(client, auth_keys):
    token = auth_keys.token(ttl=dt.timedelta(seconds=-5))
    response = await client.get("/households", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["code"] == "TOKEN_EXPIRED"


async def test_wrong_issuer_is_401(client, auth_keys):
    token = role_token(
        auth_keys.private.read_bytes(),
        role="county_admin",
        region="622924000000",
        issuer="someone-else",
    )
    assert (
        await client.get("/households", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401


async def test_token_without_valid_region_is_401(client, auth_keys):
    token = role_token(
        auth_keys.private.read_bytes(),
        role="county_admin",
        region="622924000000",
        extra_claims={"region": "62"},
    )
    assert (
        await client.get("/households", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401


async def test_missing_scope_is_403(client, auth_keys):
    dashboard = auth_keys.headers("dashboard")  # no registry:read
    response = await client.get("/households", headers=dashboard)
    assert response.status_code == 403 and "registry:read" in response.json()["detail"]
    auditor = auth_keys.headers("auditor")  # reads, never writes
    assert (
        await client.post("/households", json=household_body(), headers=auditor)
    ).status_code == 403


async def test_household_outside_region_is_404(client, auth_keys):
    household = (
        await client.post("/households", json=household_body(), headers=auth_keys.headers())
    ).json()
    url = f"/households/{household['id']}"
    assert (
        await client.get(url, headers=auth_keys.headers("village_cadre", VILLAGE))
    ).status_code == 200
    elsewhere = auth_keys.headers("village_cadre", OTHER_VILLAGE)
    outside = await client.get(url, headers=elsewhere)
    missing = await client.get(
        "/households/00000000-0000-0000-0000-000000000000", headers=elsewhere
    )
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"] == missing.json()["detail"]  # existence is not revealed
    clerk_elsewhere = auth_keys.headers("registry_clerk", OTHER_VILLAGE)
    assert (
        await client.patch(url, json={"group_no": 3}, headers=clerk_elsewhere)
    ).status_code == 404


async def test_create_outside_region_is_refused(client, auth_keys):
    response = await client.post(
        "/households",
        json=household_body(),
        headers=auth_keys.headers("registry_clerk", OTHER_VILLAGE),
    )
    assert response.status_code == 403 and response.json()["code"] == "OUTSIDE_REGION"


async def test_every_route_requires_a_token(client, registry_app):
    """Walk every route: without a token each answers 401 (public ones excepted)."""
    routes = [r for r in api_routes(registry_app) if not is_public(r)]
    assert len(routes) >= 8
    for info in routes:
        assert route_scopes(info.route), info.path
        path = info.path.replace("{household_id}", "00000000-0000-0000-0000-000000000000")
        path = path.replace("{member_id}", "00000000-0000-0000-0000-000000000000").replace(
            "{code}", "622924000000"
        )
        for method in info.methods:
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code)


async def test_public_operational_endpoints(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "nats": "ok"}
    metrics = await client.get("/metrics")
    assert "jingzhun_outbox_pending_events" in metrics.text


async def test_a_number_registered_elsewhere_is_refused_alike_and_audited(client, auth_keys):
    """A clerk cannot tell from the answers whether a person lives in their village or
    elsewhere; the refusal itself is needed (one household per person) and is audited."""
    admin = auth_keys.headers()
    holder = (await client.post("/households", json=household_body(), headers=admin)).json()
    number = household_body()["members"][0]["id_number"]  # a fresh one …
    spouse = {"name": "王秀英", "id_number": number, "relation": "spouse"}
    added = await client.post(f"/households/{holder['id']}/members", json=spouse, headers=admin)
    assert added.status_code == 201  # … now registered in VILLAGE

    here = auth_keys.headers("registry_clerk", VILLAGE)
    there = auth_keys.headers("registry_clerk", OTHER_VILLAGE)
    lookup = await client.post("/persons/lookup", json={"id_number": number}, headers=there)
    assert lookup.status_code == 404  # outside their village: as if unknown

    answers = []
    for clerk, region in ((here, VILLAGE), (there, OTHER_VILLAGE)):
        body = household_body(region)
        body["members"][1]["id_number"] = number
        answers.append(await client.post("/households", json=body, headers=clerk))
        own = (await client.post("/households", json=household_body(region), headers=clerk)).json()
        joined = await client.post(f"/households/{own['id']}/members", json=spouse, headers=clerk)
        answers.append(joined)
    for answer in answers:
        assert answer.status_code == 409 and answer.json()["code"] == "ID_NUMBER_TAKEN"
        assert VILLAGE not in answer.text and holder["id"] not in answer.text
    inside, outside = answers[0].json(), answers[2].json()
    assert {**inside, "instance": None} == {**outside, "instance": None}  # the same words

    # Each refusal is on the holder's record, for their village to see; the number is not.
    history = await client.get(f"/households/{holder['id']}/history", headers=admin)
    refused = [e for e in history.json() if e["action"] == "person.registration_refused"]
    assert [e["after"]["caller_region"] for e in refused] == [VILLAGE] * 2 + [OTHER_VILLAGE] * 2
    assert [e["actor"] for e in refused] == ["demo-registry_clerk"] * 4
    assert number not in history.text
    # Nothing was stored by the refused requests.
    listed = await client.get("/households", params={"region": OTHER_VILLAGE}, headers=admin)
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["member_count"] == 3


async def test_refused_registrations_of_one_caller_are_capped_a_day(client, auth_keys):
    """Trying numbers to learn who is registered elsewhere stops after REFUSALS_PER_DAY
    refusals: every further registration of a registered person is a 429, audited too,
    while other callers and other registrations go on."""
    from registry.households.service import REFUSALS_PER_DAY

    admin = auth_keys.headers()
    holder = (await client.post("/households", json=household_body(), headers=admin)).json()
    taken = (await client.get(f"/households/{holder['id']}", headers=admin)).json()
    number = taken["members"][0]["id_number"]
    prober = auth_keys.headers("registry_clerk", OTHER_VILLAGE, subject="clerk-probing")

    def attempt() -> dict:
        body = household_body(OTHER_VILLAGE)
        body["members"][1]["id_number"] = number
        return body

    for _ in range(REFUSALS_PER_DAY):
        refused = await client.post("/households", json=attempt(), headers=prober)
        assert refused.status_code == 409 and refused.json()["code"] == "ID_NUMBER_TAKEN"
    capped = await client.post("/households", json=attempt(), headers=prober)
    assert capped.status_code == 429, capped.text
    assert capped.json()["code"] == "TOO_MANY_REFUSALS" and "Retry-After" in capped.headers
    # A new person still registers; another clerk is not held back.
    assert (
        await client.post("/households", json=household_body(OTHER_VILLAGE), headers=prober)
    ).status_code == 201
    other = auth_keys.headers("registry_clerk", OTHER_VILLAGE, subject="clerk-other")
    assert (await client.post("/households", json=attempt(), headers=other)).status_code == 409
    history = await client.get(f"/households/{holder['id']}/history", headers=admin)
    refused = [e for e in history.json() if e["action"] == "person.registration_refused"]
    assert len(refused) == REFUSALS_PER_DAY + 2  # the capped attempt is on record too
