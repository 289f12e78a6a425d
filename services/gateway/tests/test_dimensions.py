"""Each dimension's state follows its owner's events, whatever order they arrive in."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway_testdata import (
    VILLAGE,
    alert_payload,
    applied,
    envelope,
    event,
    fact,
    publish,
    publish_to,
    status_row,
    visit_envelope,
)

from contracts.events import education, health, housing
from contracts.events import registry as events
from contracts.status import DimensionFact


async def _status(client, auth_keys, hid):
    response = await client.get(f"/households/{hid}/status", headers=auth_keys.headers())
    assert response.status_code == 200, response.text
    return response.json()


async def test_registry_dimensions_follow_the_survey(client, gateway_app, js, auth_keys):
    hid = uuid.uuid4()
    below = {
        "income": fact("not_ok", "INCOME_BELOW_LINE"),
        "food_clothing": fact("ok"),
        "water": fact("unknown", "NOT_SURVEYED"),
    }
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1, dimensions=below)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await applied(gateway_app, 1)
    status = await _status(client, auth_keys, hid)
    assert status["dimensions"]["income"]["status"] == "not_ok"
    assert status["dimensions"]["income"]["reason"] == "INCOME_BELOW_LINE"
    assert "贫困线" in status["dimensions"]["income"]["reason_text"]
    assert status["dimensions"]["income"]["event_id"] == created["id"]
    assert status["dimensions"]["water"]["status"] == "unknown"
    assert status["exit_readiness"]["status"] == "not_ready"
    assert status["exit_readiness"]["blocking"] == ["income"]

    above = {name: fact("ok", as_of="2026-06-30T00:00:00+00:00") for name in below}
    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, dimensions=above, changed=["per_capita_net_income"]
    )
    await publish(js, events.HOUSEHOLD_UPDATED, updated)
    await applied(gateway_app, 2)
    status = await _status(client, auth_keys, hid)
    assert {status["dimensions"][d]["status"] for d in above} == {"ok"}
    # The departments have not spoken: the household is not ready, nor refused.
    assert status["exit_readiness"] == {
        "status": "unknown",
        "blocking": [],
        "unknown": ["education", "medical", "housing"],
    }


async def test_housing_follows_the_newest_appraisal(client, gateway_app, js, auth_keys):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)

    def appraisal(grade: str, on: str) -> dict:
        payload = housing.AppraisalRecorded(
            household_id=hid,
            region_code=VILLAGE,
            policy_year=2026,
            appraisal_id=uuid.uuid4(),
            grade=grade,
            appraised_on=on,
        )
        return envelope(
            housing.APPRAISAL_RECORDED, payload, subject=payload.appraisal_id, sequence=1
        )

    dangerous = appraisal("D", "2026-03-01")
    await publish_to(js, housing.APPRAISAL_RECORDED, dangerous)
    await applied(gateway_app, 2)
    housing_now = (await _status(client, auth_keys, hid))["dimensions"]["housing"]
    assert housing_now["status"] == "not_ok" and housing_now["reason"] == "HOUSE_GRADE_D"
    assert housing_now["source"] == "housing" and housing_now["event_id"] == dangerous["id"]

    renovated = appraisal("A", "2026-09-01")
    await publish_to(js, housing.APPRAISAL_RECORDED, renovated)
    await applied(gateway_app, 3)
    assert (await _status(client, auth_keys, hid))["dimensions"]["housing"]["status"] == "ok"

    # An older appraisal delivered late does not undo the newer one.
    await publish_to(js, housing.APPRAISAL_RECORDED, appraisal("C", "2026-05-01"))
    await applied(gateway_app, 4)
    housing_now = (await _status(client, auth_keys, hid))["dimensions"]["housing"]
    assert housing_now["status"] == "ok" and housing_now["event_id"] == renovated["id"]


async def test_compulsory_dropout_fails_education(client, gateway_app, js, auth_keys):
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    await applied(gateway_app, 1)
    # Education has not assessed the household: the dimension is not known.
    assert (await _status(client, auth_keys, hid))["dimensions"]["education"]["status"] == (
        "unknown"
    )

    def assessed(sequence: int, **education_fact) -> dict:
        payload = education.EducationAssessed(
            household_id=hid,
            region_code=VILLAGE,
            policy_year=2026,
            education=DimensionFact(**education_fact),
            compulsory_age=1,
            in_school=0 if education_fact.get("reason") else 1,
            dropped_out=1 if education_fact.get("reason") else 0,
            unmatched=0,
        )
        return envelope(education.EDUCATION_ASSESSED, payload, subject=hid, sequence=sequence)

    dropout = {"status": "not_ok", "reason": "DROPOUT", "as_of": "2026-04-01T09:00:00+08:00"}
    await publish_to(js, education.EDUCATION_ASSESSED, assessed(1, **dropout))
    await applied(gateway_app, 2)
    status = await _status(client, auth_keys, hid)
    assert status["dimensions"]["education"]["reason"] == "DROPOUT"
    assert "education" in status["exit_readiness"]["blocking"]
    returned = {"status": "ok", "as_of": "2026-04-20T09:00:00+08:00"}
    await publish_to(js, education.EDUCATION_ASSESSED, assessed(2, **returned))
    await applied(gateway_app, 3)
    status = await _status(client, auth_keys, hid)
    assert status["dimensions"]["education"]["status"] == "ok"
    assert "education" not in status["exit_readiness"]["blocking"]


async def test_an_alert_before_its_household_waits_for_the_basics(
    client, gateway_app, js, auth_keys
):
    hid, alert_id = uuid.uuid4(), uuid.uuid4()
    # The registry wrote created (1), updated (2), alert (3); the alert arrives first.
    raised = envelope(events.ALERT_RAISED, alert_payload(hid, alert_id), subject=hid, sequence=3)
    await publish_to(js, events.ALERT_RAISED, raised)
    await applied(gateway_app, 1)
    response = await client.get(f"/households/{hid}/status", headers=auth_keys.headers())
    assert response.status_code == 404  # no basics yet: not shown
    assert (await status_row(gateway_app, hid))["risk_alerts"]

    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, monitoring_category="marginal", changed=["x"]
    )
    await publish(js, events.HOUSEHOLD_UPDATED, updated)
    await publish(js, events.HOUSEHOLD_CREATED, created)  # older than `updated`: stale
    await applied(gateway_app, 3)
    status = await _status(client, auth_keys, hid)
    assert status["monitoring_category"] == "marginal"
    assert [a["alert_id"] for a in status["risk_alerts"]] == [str(alert_id)]
    assert status["exit_readiness"]["status"] == "not_ready"
    assert "risk_alerts" in status["exit_readiness"]["blocking"]

    # A later snapshot does not make an older alert step stale (it carries no alerts) …
    closed = envelope(
        events.ALERT_STATUS_CHANGED,
        events.AlertStatusChanged(
            **alert_payload(hid, alert_id, status="closed").model_dump(),
            from_status="open",
            on_date="2026-05-20",
        ),
        subject=hid,
        sequence=4,
    )
    await publish_to(js, events.ALERT_STATUS_CHANGED, closed)
    await applied(gateway_app, 4)
    assert (await _status(client, auth_keys, hid))["risk_alerts"] == []
    # … but the alert's own older step, delivered again late, is.
    await publish_to(js, events.ALERT_RAISED, {**raised, "id": str(uuid.uuid4())})
    await applied(gateway_app, 5)
    assert (await _status(client, auth_keys, hid))["risk_alerts"] == []


async def test_helpers_and_visits(client, gateway_app, js, auth_keys):
    hid, helper_id, assignment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    assignment = events.HelperAssignmentEvent(
        assignment_id=assignment_id,
        household_id=hid,
        region_code=VILLAGE,
        helper_id=helper_id,
        helper_name="李帮扶",
        helper_rank="section_level",
        work_unit="县教育局",
        role="primary",
        start_date="2026-01-05",
    )
    await publish_to(
        js,
        events.HELPER_ASSIGNED,
        envelope(events.HELPER_ASSIGNED, assignment, subject=hid, sequence=2),
    )
    for seq, day in ((3, "2025-01-02"), (4, "2026-11-01"), (5, "2026-11-10")):
        await publish_to(js, events.HELPER_VISIT_LOGGED, visit_envelope(hid, helper_id, day, seq))
    await applied(gateway_app, 5)
    helper = (await _status(client, auth_keys, hid))["helper"]
    assert helper["assigned"] and helper["helpers"][0]["name"] == "李帮扶"
    assert helper["last_visit"] == "2026-11-10"
    row = await status_row(gateway_app, hid)
    assert row["visit_dates"] == ["2026-11-01", "2026-11-10"]  # a year before the newest only

    mine = await client.get(
        "/me/households",
        headers=auth_keys.headers(
            "helper", VILLAGE, extra_claims={"helper_id": str(helper_id)}, scopes=("status:read",)
        ),
    )
    assert mine.status_code == 200, mine.text
    assert [h["household_id"] for h in mine.json()["items"]] == [str(hid)]

    await publish_to(
        js,
        events.HELPER_UNASSIGNED,
        envelope(
            events.HELPER_UNASSIGNED,
            assignment.model_copy(update={"end_date": dt.date(2026, 11, 20)}),
            subject=hid,
            sequence=6,
        ),
    )
    await applied(gateway_app, 6)
    assert (await _status(client, auth_keys, hid))["helper"]["assigned"] is False
    mine = await client.get(
        "/me/households",
        headers=auth_keys.headers(
            "helper", VILLAGE, extra_claims={"helper_id": str(helper_id)}, scopes=("status:read",)
        ),
    )
    assert mine.json()["total"] == 0
    not_a_helper = await client.get("/me/households", headers=auth_keys.headers())
    assert not_a_helper.status_code == 403 and not_a_helper.json()["code"] == "NOT_A_HELPER"


async def test_medical_follows_health(client, gateway_app, js, auth_keys):
    """基本医疗有保障 is decided by health; the gateway keeps the newest statement."""
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, 1)
    await publish(js, events.HOUSEHOLD_CREATED, created)

    def assessed(sequence: int, **fact):
        payload = health.MedicalAssessed(
            household_id=hid,
            region_code=VILLAGE,
            policy_year=2026,
            medical=DimensionFact(**fact),
        )
        return envelope(health.MEDICAL_ASSESSED, payload, subject=hid, sequence=sequence)

    missing = "1 of 3 members not insured for 2026"
    await publish_to(
        js,
        health.MEDICAL_ASSESSED,
        assessed(
            1,
            status="not_ok",
            reason="NOT_INSURED",
            detail=missing,
            as_of="2026-03-01T00:00:00+00:00",
        ),
    )
    await applied(gateway_app, 2)
    medical = (await _status(client, auth_keys, hid))["dimensions"]["medical"]
    assert medical["status"] == "not_ok" and medical["source"] == "health"
    assert medical["detail"] == missing and "not insured" in medical["reason_text"]
    await publish_to(
        js,
        health.MEDICAL_ASSESSED,
        assessed(2, status="ok", as_of="2026-03-02T00:00:00+00:00"),
    )
    await applied(gateway_app, 3)
    medical = (await _status(client, auth_keys, hid))["dimensions"]["medical"]
    assert medical["status"] == "ok" and medical["detail"] is None
