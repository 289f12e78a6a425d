"""Region statistics move with every event and always equal a recount from scratch; the
village list filters by dimension; nobody sees outside their region."""

from __future__ import annotations

import uuid

from gateway_testdata import (
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    alert_payload,
    applied,
    counters,
    envelope,
    event,
    fact,
    publish,
    publish_to,
)

from contracts.events import housing
from contracts.events import registry as events
from devstack.registry_payloads import registry_member

COUNTY = "622924000000"
TOWNSHIP = "622924100000"


def _member(name: str, relation: str) -> dict:
    return registry_member(
        name, relation, has_id_number=False, gender="female", birth_date="1980-01-01"
    )


async def _region_event(js, code, name, level, sequence, population=None):
    payload = events.RegionUpdated(
        code=code,
        name=name,
        level=level,
        parent_code=None,
        population=population,
        total_population=population and population + 100,
    )
    body = envelope(events.REGION_UPDATED, payload, subject=code, sequence=sequence, region=code)
    await publish_to(js, events.REGION_UPDATED, body, region=code)


async def _scenario(js) -> list[uuid.UUID]:
    """Three households in two townships, changed in many ways; returns their ids."""
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    two = [_member("甲", "head"), _member("乙", "spouse")]
    ok = {d: fact("ok") for d in ("income", "food_clothing", "water")}
    published = [
        (events.HOUSEHOLD_CREATED, event(events.HOUSEHOLD_CREATED, a, 1, members=two)[1]),
        (
            events.HOUSEHOLD_CREATED,
            event(
                events.HOUSEHOLD_CREATED,
                b,
                1,
                causes=["illness", "disability"],
                assistance_type="dibao",
                dimensions=ok,
            )[1],
        ),
        (
            events.HOUSEHOLD_STATE_CHANGED,
            event(
                events.HOUSEHOLD_STATE_CHANGED,
                a,
                2,
                poverty_state="exited",
                members=two,
                dimensions=ok,
                action="approve_exit",
                from_state="planned_exit",
                from_stage=None,
                on_date="2026-09-01",
            )[1],
        ),
    ]
    for spec, body in published:
        await publish(js, spec, body)
    # c lives in another township.
    created_c = event(events.HOUSEHOLD_CREATED, c, 1, region_code=OTHER_TOWNSHIP_VILLAGE)[1]
    await js.publish(
        events.HOUSEHOLD_CREATED.subject(OTHER_TOWNSHIP_VILLAGE),
        __import__("kit.envelope", fromlist=["encode"]).encode(created_c),
    )
    appraisal = housing.AppraisalRecorded(
        household_id=b,
        region_code=VILLAGE,
        policy_year=2026,
        appraisal_id=uuid.uuid4(),
        grade="D",
        appraised_on="2026-03-01",
    )
    await publish_to(
        js,
        housing.APPRAISAL_RECORDED,
        envelope(housing.APPRAISAL_RECORDED, appraisal, subject=appraisal.appraisal_id, sequence=1),
    )
    alert = alert_payload(b, uuid.uuid4())
    await publish_to(
        js, events.ALERT_RAISED, envelope(events.ALERT_RAISED, alert, subject=b, sequence=2)
    )
    await _region_event(js, VILLAGE, "阿力麻土村", "village", 1, population=400)
    await _region_event(js, OTHER_TOWNSHIP_VILLAGE, "别的村", "village", 1, population=600)
    await _region_event(js, VILLAGE, "阿力麻土村", "village", 2, population=500)  # corrected
    await _region_event(js, COUNTY, "广河县", "county", 1)
    return [a, b, c]


async def test_statistics_equal_a_recount_and_add_up(client, gateway_app, js, auth_keys):
    await _scenario(js)
    await applied(gateway_app, 10)
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
    assert stored[(COUNTY, "households")] == 3

    response = await client.get(f"/regions/{COUNTY}/stats", headers=auth_keys.headers())
    assert response.status_code == 200, response.text
    county = response.json()
    assert county["region_name"] == "广河县" and county["level"] == "county"
    assert county["all"] == {"households": 3, "persons": 4}
    assert county["poor"] == {"households": 2, "persons": 2}  # b and c; a has exited
    assert county["registered"] == {"households": 3, "persons": 4}
    assert county["by_poverty_state"]["exited"] == {"households": 1, "persons": 2}
    assert county["by_assistance_type"]["dibao"] == {"households": 1, "persons": 1}
    assert county["by_cause"]["illness"] == {"count": 3, "of": 3, "share": "1.0000"}
    assert county["by_cause"]["disability"]["share"] == "0.3333"
    # 2 poor persons of 500 + 600 (the village's corrected figure replaced its first one)
    assert county["incidence"]["population"] == 1100
    assert county["incidence"]["rate"] == "0.0018"
    assert county["dimensions"]["income"] == {
        "ok": 2,
        "not_ok": 0,
        "unknown": 1,
        "ok_share": "0.6667",
    }
    assert county["dimensions"]["housing"]["not_ok"] == 1
    assert county["open_alerts"] == {
        "total": 1,
        "households": 1,
        "by_kind": {"dangerous_house": 1},
    }
    assert county["exit_readiness"] == {"ready": 0, "not_ready": 1, "unknown": 2}

    township = (await client.get(f"/regions/{TOWNSHIP}/stats", headers=auth_keys.headers())).json()
    assert township["all"] == {"households": 2, "persons": 3}
    assert township["region_name"] is None and township["level"] == "township"


async def test_region_scope_of_status_stats_and_lists(client, gateway_app, js, auth_keys):
    a, b, c = await _scenario(js)
    await applied(gateway_app, 10)
    township_official = auth_keys.headers("county_admin", TOWNSHIP)
    assert (
        await client.get(f"/households/{b}/status", headers=township_official)
    ).status_code == 200
    assert (
        await client.get(f"/households/{c}/status", headers=township_official)
    ).status_code == 404
    other = f"/regions/{OTHER_TOWNSHIP_VILLAGE}/stats"
    assert (await client.get(other, headers=township_official)).status_code == 404
    assert (
        await client.get(f"/regions/{COUNTY}/stats", headers=township_official)
    ).status_code == (404)
    listed = await client.get("/households", headers=township_official)
    assert {h["household_id"] for h in listed.json()["items"]} == {str(a), str(b)}
    outside = await client.get(
        "/households", params={"region": OTHER_TOWNSHIP_VILLAGE}, headers=township_official
    )
    assert outside.status_code == 403 and outside.json()["errors"][0]["field"] == "query.region"

    # A village cadre's list of households whose housing is not ok.
    cadre = auth_keys.headers("village_cadre", VILLAGE)
    housing_not_ok = await client.get("/households", params={"not_ok": "housing"}, headers=cadre)
    assert housing_not_ok.status_code == 200
    body = housing_not_ok.json()
    assert body["total"] == 1 and body["items"][0]["household_id"] == str(b)
    assert body["items"][0]["dimensions"]["housing"]["reason"] == "HOUSE_GRADE_D"
    wrong = await client.get("/households", params={"not_ok": "wealth"}, headers=cadre)
    assert wrong.status_code == 422
