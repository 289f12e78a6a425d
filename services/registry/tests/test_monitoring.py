"""防返贫监测: risk alerts raised by other departments' events, published on the real bus
as those services will publish them, and by hand; the alert life cycle; region scoping."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import nats
import pytest
import pytest_asyncio
from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body
from sqlalchemy import text
from workflow_steps import COUNTY, DOC, set_today

from contracts.enums import AlertAssessment, AlertKind, AlertStatus, MonitoringCategory
from contracts.enums import PovertyState as S
from contracts.events import CATALOGUE, education, health, housing, low_income
from devstack.testing import eventually
from kit.envelope import build, encode, parse
from registry.monitoring import rules
from registry.monitoring.consumers import monitoring_consumers

YEAR = 2026


# --- the pure rules ------------------------------------------------------------------------


def test_registry_consumes_exactly_the_events_the_catalogue_lists_for_it():
    definitions = monitoring_consumers(lambda: None)
    handled = {name for d in definitions for name in d.handlers}
    assert handled == {spec.name for spec in CATALOGUE.consumed_by("registry")}
    assert {d.source_service for d in definitions} == {
        "health",
        "housing",
        "education",
        "low_income",
    }


@pytest.mark.parametrize(
    ("per_capita", "persons", "threshold"),
    [
        (None, 3, "10000.00"),  # no survey: the floor
        (Decimal("2800.50"), 3, "10000.00"),  # half of 8401.50 is below the floor
        (Decimal("9000.00"), 3, "13500.00"),  # half of 27000
        (Decimal("6666.67"), 3, "10000.01"),  # half of 20000.01, rounded half-up
    ],
)
def test_medical_cost_threshold_is_the_larger_of_floor_and_income_share(
    per_capita, persons, threshold
):
    got = rules.medical_cost_threshold(Decimal("10000.00"), Decimal("0.5"), per_capita, persons)
    assert got == Decimal(threshold)
    assert not rules.medical_cost_exceeds(got, got)  # 超过: the threshold itself is not enough
    assert rules.medical_cost_exceeds(got + Decimal("0.01"), got)


@pytest.mark.parametrize(
    ("state", "current", "kind", "action", "category"),
    [
        (S.exited, "none", "critical_illness", "start_monitoring", "unstable_exited"),
        (S.registered, "none", "dropout", None, None),
        (S.exited_monitored, "unstable_exited", "dangerous_house", None, None),
        (S.candidate, "none", "dangerous_house", None, "marginal"),
        (S.removed, "none", "disaster", None, "sudden_hardship"),
        (S.rejected, "marginal", "disaster", None, "sudden_hardship"),
        (S.candidate, "sudden_hardship", "dropout", None, None),  # not downgraded
        (S.candidate, "none", "dialysis", "auto_register", None),
        (S.exited, "none", "dialysis", "start_monitoring", "unstable_exited"),
    ],
)
def test_what_an_open_alert_does_to_the_household(state, current, kind, action, category):
    effect = rules.household_effect(
        state,
        MonitoringCategory(current),
        AlertKind(kind),
        rural_dialysis_patient=kind == "dialysis",
    )
    assert (effect.action and effect.action.value, effect.category) == (action, category)


def test_alerts_only_move_forward():
    assert rules.next_status("assess", AlertStatus.open, AlertAssessment.marginal) == "assessed"
    assert rules.next_status("assess", AlertStatus.open, AlertAssessment.not_at_risk) == "closed"
    assert rules.next_status("close", AlertStatus.assisted) == "closed"
    for action, status in [("assist", "open"), ("assess", "assessed"), ("close", "closed")]:
        with pytest.raises(rules.AlertTransitionRefused, match="only move forward"):
            rules.next_status(action, AlertStatus(status))


# --- publishing as the other departments will ------------------------------------------


@pytest_asyncio.fixture
async def js(stack):
    nc = await nats.connect(stack.nats_url)
    yield nc.jetstream()
    await nc.close()


async def publish(js, spec, *, subject_id=None, body=None, **fields) -> dict:
    """Publish a department event the way its service's outbox relay will (CloudEvents
    envelope, subject ``<service>.<aggregate>.<event>.<region tokens>``, Nats-Msg-Id). Pass
    ``body`` to deliver an event again: a new message id gets past the broker's dedupe, so
    the consumer really sees it twice."""
    if body is None:
        payload = spec.payload(**{"policy_year": YEAR, "region_code": VILLAGE, **fields})
        _, body = build(
            spec,
            source=f"/jingzhun/{spec.producer}",
            aggregate_id=str(subject_id or uuid.uuid4()),
            region=payload.region_code,
            sequence=1,
            data=payload,
        )
    ack = await js.publish(
        spec.subject(body["region"]), encode(body), headers={"Nats-Msg-Id": str(uuid.uuid4())}
    )
    assert ack.stream == spec.producer.upper()
    return body


def consumer_outcomes(app, source: str) -> dict:
    consumer = next(
        c for c in app.state.runtime.consumers if c.subscription.durable == f"registry-{source}"
    )
    return dict(consumer.outcomes)


async def processed(app, source: str, count: int) -> dict:
    return await eventually(
        lambda: _async(consumer_outcomes(app, source)),
        until=lambda o: sum(o.values()) >= count,
    )


async def _async(value):
    return value


async def inbox(app) -> dict[str, str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id, outcome FROM inbox"))
        return dict(rows.all())


async def alerts(client, headers, **params) -> list[dict]:
    response = await client.get("/alerts", params={"size": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def registry_events(nats_url: str) -> list:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        return [
            parse((await js.get_msg("REGISTRY", seq)).data)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages
        ]
    finally:
        await nc.close()


async def published(stack, household_id: str, name: str, count: int = 1) -> list:
    """The registry events of that type about the household, once ``count`` are out."""
    spec_type = f"cn.jingzhun.registry.{name}.v1"

    async def probe():
        return [
            e
            for e in await registry_events(stack.nats_url)
            if e.type == spec_type and e.subject == household_id
        ]

    return await eventually(probe, until=lambda found: len(found) >= count)


async def new_household(client, headers, state="registered", **overrides) -> dict:
    body = household_body(poverty_state=state, **overrides)
    if state in ("candidate", "applied"):
        body["evidence"] = []
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def refs(household: dict, member: int | None = 0) -> dict:
    person = household["members"][member]["id"] if member is not None else None
    return {"household_id": household["id"], "person_id": person}


@pytest.fixture
def admin(auth_keys):
    return auth_keys.headers("county_admin", COUNTY)


# --- department events ------------------------------------------------------------------


async def test_critical_illness_puts_an_exited_household_under_monitoring_exactly_once(
    client, registry_app, admin, js, stack
):
    set_today(registry_app, dt.date(2026, 5, 10))
    household = await new_household(client, admin, state="exited")
    hid = household["id"]
    diagnosis = dict(
        diagnosis_id=uuid.uuid4(),
        disease_code="C34.9",
        disease_name="肺恶性肿瘤",
        critical=True,
        diagnosed_on=dt.date(2026, 5, 9),
    )
    body = await publish(js, health.DISEASE_DIAGNOSED, **refs(household), **diagnosis)
    await publish(js, health.DISEASE_DIAGNOSED, body=body)  # delivered again, same event id
    outcomes = await processed(registry_app, "health", 2)
    assert outcomes == {"applied": 1, "duplicate": 1}

    [alert] = await alerts(client, admin, household_id=hid)
    assert alert["kind"] == "critical_illness" and alert["status"] == "open"
    assert alert["source"] == {
        "service": "health",
        "event_type": "cn.jingzhun.health.disease.diagnosed.v1",
        "event_id": body["id"],
    }
    assert alert["person_id"] == household["members"][0]["id"]
    assert alert["category"] == "unstable_exited"
    assert (alert["raised_on"], alert["due_date"]) == ("2026-05-10", "2026-06-09")
    assert alert["raised_by"] == "system:monitoring"
    assert "肺" not in str(alert) and "C34" not in str(alert)  # diagnoses stay in health

    after = (await client.get(f"/households/{hid}", headers=admin)).json()
    assert (after["poverty_state"], after["monitoring_category"]) == (
        "exited_monitored",
        "unstable_exited",
    )
    steps = (await client.get(f"/households/{hid}/transitions", headers=admin)).json()["steps"]
    last = steps[-1]
    assert (last["action"], last["actor"], last["from_state"]) == (
        "start_monitoring",
        "system:monitoring",
        "exited",
    )
    assert last["details"]["source_event_id"] == body["id"]
    assert last["evidence"][0]["location"].endswith(body["id"])

    [changed] = await published(stack, hid, "household.state_changed")
    assert changed.data["action"] == "start_monitoring"
    [raised] = await published(stack, hid, "alert.raised")
    assert raised.data["alert_id"] == alert["id"] and raised.data["source_event_id"] == body["id"]
    assert raised.sequence == changed.sequence + 1  # versioned with the household

    # Even past the inbox (its row gone, as after a restore), the unique source id holds.
    async with registry_app.state.runtime.engine.begin() as conn:
        await conn.execute(text("DELETE FROM inbox"))
        await conn.execute(text("DELETE FROM aggregate_positions"))
    await publish(js, health.DISEASE_DIAGNOSED, body=body)
    await processed(registry_app, "health", 3)
    assert len(await alerts(client, admin, household_id=hid)) == 1


async def test_non_critical_diagnosis_and_unknown_ids_are_ignored(client, registry_app, admin, js):
    household = await new_household(client, admin)
    fields = dict(
        disease_code="J06.9", disease_name="上呼吸道感染", diagnosed_on=dt.date(2026, 5, 1)
    )
    mild = await publish(
        js,
        health.DISEASE_DIAGNOSED,
        **refs(household),
        diagnosis_id=uuid.uuid4(),
        critical=False,
        **fields,
    )
    stranger = await publish(
        js,
        health.DISEASE_DIAGNOSED,
        household_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        diagnosis_id=uuid.uuid4(),
        critical=True,
        **fields,
    )
    not_a_member = await publish(
        js,
        health.DISEASE_DIAGNOSED,
        household_id=household["id"],
        person_id=uuid.uuid4(),
        diagnosis_id=uuid.uuid4(),
        critical=True,
        **fields,
    )
    await processed(registry_app, "health", 3)
    assert await inbox(registry_app) == {
        mild["id"]: "ignored",
        stranger["id"]: "ignored",
        not_a_member["id"]: "ignored",
    }
    assert await alerts(client, admin) == []


async def test_high_medical_cost_alerts_once_the_year_total_passes_the_threshold(
    client, registry_app, admin, js, stack
):
    # 3 persons at 2800.50 a head: half the income (4200.75) is below the 10000 floor
    household = await new_household(client, admin, state="exited")
    hid = household["id"]

    async def claim(amount: str, member: int = 0, **extra) -> dict:
        return await publish(
            js,
            health.CLAIM_SETTLED,
            **refs(household, member),
            claim_id=extra.pop("claim_id", uuid.uuid4()),
            settled_on=dt.date(2026, 4, 1),
            total=Decimal("50000.00"),
            out_of_pocket=Decimal(amount),
            hospital_level="county",
            **extra,
        )

    first = await claim("6000.00")
    await claim("4000.00", member=1)  # 10000.00 in all: the threshold itself, no alert
    await processed(registry_app, "health", 2)
    assert await alerts(client, admin) == []
    await claim("4000.00", member=1, policy_year=2025)  # another year does not count
    await publish(js, health.CLAIM_SETTLED, body=first)  # redelivered: counted once
    again = dict(first, id=str(uuid.uuid4()))  # the same claim (and version), a new event id
    await publish(js, health.CLAIM_SETTLED, body=again)
    await processed(registry_app, "health", 5)
    assert await alerts(client, admin) == []
    assert (await inbox(registry_app))[again["id"]] == "stale"

    # two claims land together and cross it: one alert for the household and year
    crossing = await claim("3000.00", member=2)
    await claim("2500.00")
    await processed(registry_app, "health", 7)
    [alert] = await alerts(client, admin)
    assert alert["kind"] == "high_medical_cost" and alert["policy_year"] == YEAR
    assert alert["source"]["event_id"] == crossing["id"]
    assert alert["details"]["annual_out_of_pocket"] == "13000.00"
    assert alert["details"]["threshold"] == "10000.00"
    await claim("800.00")
    await processed(registry_app, "health", 8)
    assert len(await alerts(client, admin)) == 1
    await published(stack, hid, "alert.raised")


async def test_dangerous_house_marks_a_household_outside_the_register_marginal(
    client, registry_app, admin, js, stack
):
    candidate = await new_household(client, admin, state="candidate")
    hid = candidate["id"]
    appraisal = dict(appraised_on=dt.date(2026, 3, 3), report_no="GH-2026-031")
    safe = await publish(
        js,
        housing.APPRAISAL_RECORDED,
        **refs(candidate, None),
        appraisal_id=uuid.uuid4(),
        grade="B",
        **appraisal,
    )
    await publish(
        js,
        housing.APPRAISAL_RECORDED,
        **refs(candidate, None),
        appraisal_id=uuid.uuid4(),
        grade="D",
        **appraisal,
    )
    await processed(registry_app, "housing", 2)
    assert (await inbox(registry_app))[safe["id"]] == "ignored"
    [alert] = await alerts(client, admin, kind="dangerous_house")
    assert (alert["person_id"], alert["category"], alert["details"]["grade"]) == (
        None,
        "marginal",
        "D",
    )
    after = (await client.get(f"/households/{hid}", headers=admin)).json()
    assert (after["poverty_state"], after["monitoring_category"]) == ("candidate", "marginal")
    [updated] = await published(stack, hid, "household.updated")
    assert updated.data["changed"] == ["monitoring_category"]
    assert updated.data["monitoring_category"] == "marginal"


async def test_disaster_relief_means_sudden_hardship_and_other_relief_is_ignored(
    client, registry_app, admin, js
):
    household = await new_household(client, admin, state="removed")
    relief = dict(amount=Decimal("3000.00"), paid_on=dt.date(2026, 7, 20))
    illness = await publish(
        js,
        low_income.RELIEF_PAID,
        **refs(household, None),
        relief_id=uuid.uuid4(),
        cause="illness",
        **relief,
    )
    await publish(
        js,
        low_income.RELIEF_PAID,
        **refs(household, None),
        relief_id=uuid.uuid4(),
        cause="disaster",
        **relief,
    )
    await processed(registry_app, "low_income", 2)
    assert (await inbox(registry_app))[illness["id"]] == "ignored"
    [alert] = await alerts(client, admin)
    assert (alert["kind"], alert["category"]) == ("disaster", "sudden_hardship")
    after = (await client.get(f"/households/{household['id']}", headers=admin)).json()
    assert (after["poverty_state"], after["monitoring_category"]) == ("removed", "sudden_hardship")


async def test_compulsory_dropout_alerts_and_a_registered_household_keeps_its_state(
    client, registry_app, admin, js
):
    household = await new_household(client, admin)
    dropout = dict(student_id=uuid.uuid4(), dropped_out_on=dt.date(2026, 9, 20))
    senior = await publish(
        js,
        education.STUDENT_DROPPED_OUT,
        **refs(household, 2),
        stage="senior_high",
        compulsory=False,
        **dropout,
    )
    await publish(
        js,
        education.STUDENT_DROPPED_OUT,
        **refs(household, 2),
        stage="junior",
        compulsory=True,
        **{**dropout, "student_id": uuid.uuid4()},
    )
    await processed(registry_app, "education", 2)
    assert (await inbox(registry_app))[senior["id"]] == "ignored"
    [alert] = await alerts(client, admin)
    assert (alert["kind"], alert["category"], alert["details"]["stage"]) == (
        "dropout",
        None,
        "junior",
    )
    after = (await client.get(f"/households/{household['id']}", headers=admin)).json()
    assert (after["poverty_state"], after["monitoring_category"], after["version"]) == (
        "registered",
        "none",
        2,  # created, then alert.raised: nothing else changed
    )


async def test_rural_dialysis_patient_is_registered_with_an_adjustment(
    client, registry_app, admin, js, stack
):
    set_today(registry_app, dt.date(2026, 8, 12))
    candidate = await new_household(client, admin, state="candidate")
    hid = candidate["id"]
    body = await publish(
        js,
        health.DIALYSIS_STARTED,
        **refs(candidate, 1),
        enrolment_id=uuid.uuid4(),
        started_on=dt.date(2026, 8, 10),
        facility="广河县人民医院",
    )
    await processed(registry_app, "health", 1)
    [alert] = await alerts(client, admin)
    assert alert["kind"] == "dialysis" and alert["category"] is None
    after = (await client.get(f"/households/{hid}", headers=admin)).json()
    assert (after["poverty_state"], after["identified_year"]) == ("registered", YEAR)
    [changed] = await published(stack, hid, "household.state_changed")
    assert (changed.data["action"], changed.data["from_state"]) == ("auto_register", "candidate")
    steps = (await client.get(f"/households/{hid}/transitions", headers=admin)).json()
    assert steps["steps"][-1]["actor"] == "system:monitoring"
    assert "auto_register" not in [a["action"] for a in steps["allowed"]]
    async with registry_app.state.runtime.engine.connect() as conn:
        adjustment = (
            (
                await conn.execute(
                    text("SELECT * FROM adjustments WHERE household_id = :h"), {"h": hid}
                )
            )
            .mappings()
            .one()
        )
    assert (adjustment["kind"], adjustment["reason"], adjustment["actor"]) == (
        "new_identification",
        "dialysis",
        "system:monitoring",
    )
    assert adjustment["effective_month"] == dt.date(2026, 8, 1)
    assert adjustment["details"]["source_event_id"] == body["id"]


# --- by hand, life cycle, scoping -------------------------------------------------------


async def test_manual_alert_life_cycle_only_moves_forward(client, registry_app, admin, stack):
    household = await new_household(client, admin, state="exited")
    hid = household["id"]
    bad = await client.post(
        "/alerts",
        json={"household_id": hid, "person_id": str(uuid.uuid4()), "note": "x", "evidence": [DOC]},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "NOT_A_MEMBER"
    no_evidence = await client.post(
        "/alerts", json={"household_id": hid, "note": "走访发现", "evidence": []}, headers=admin
    )
    assert no_evidence.status_code == 422
    created = await client.post(
        "/alerts",
        json={"household_id": hid, "note": "走访发现户主外出务工受伤，收入骤减", "evidence": [DOC]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    alert = created.json()
    assert (alert["kind"], alert["status"], alert["source"], alert["raised_by"]) == (
        "manual",
        "open",
        None,
        "demo-county_admin",
    )
    household_now = (await client.get(f"/households/{hid}", headers=admin)).json()
    assert household_now["poverty_state"] == "exited_monitored"

    async def move(action, **fields):
        return await client.post(
            f"/alerts/{alert['id']}/transitions",
            json={"action": action, "note": f"{action} 说明", **fields},
            headers=admin,
        )

    skipped = await move("assist")
    assert skipped.status_code == 409 and skipped.json()["code"] == "ALERT_TRANSITION_REFUSED"
    assert "only move forward" in skipped.json()["detail"]
    missing = await move("assess")
    assert missing.status_code == 422
    assessed = await move("assess", assessment="unstable_exited", evidence=[DOC])
    assert assessed.status_code == 200, assessed.text
    assert assessed.json()["status"] == "assessed"
    assert assessed.json()["assessed_by"] == "demo-county_admin"
    assert (await move("assess", assessment="marginal")).status_code == 409
    assisted = (await move("assist")).json()
    assert (assisted["status"], assisted["assistance_note"]) == ("assisted", "assist 说明")
    closed = (await move("close")).json()
    assert closed["status"] == "closed" and closed["closed_at"] and len(closed["evidence"]) == 2
    again = await move("close")
    assert again.status_code == 409
    statuses = [e.data["status"] for e in await published(stack, hid, "alert.status_changed", 3)]
    assert statuses == ["assessed", "assisted", "closed"]

    other = (
        await client.post(
            "/alerts",
            json={"household_id": hid, "kind": "other", "note": "群众反映", "evidence": [DOC]},
            headers=admin,
        )
    ).json()
    not_at_risk = await client.post(
        f"/alerts/{other['id']}/transitions",
        json={"action": "assess", "assessment": "not_at_risk", "note": "核实无风险"},
        headers=admin,
    )
    assert not_at_risk.json()["status"] == "closed"
    assert not_at_risk.json()["closure_note"] == "核实无风险"


async def test_alerts_are_limited_to_the_callers_region(client, registry_app, admin, auth_keys):
    here = await new_household(client, admin)
    there = await new_household(client, admin, region_code=OTHER_VILLAGE)
    for household in (here, there):
        response = await client.post(
            "/alerts",
            json={"household_id": household["id"], "note": "走访发现", "evidence": [DOC]},
            headers=admin,
        )
        assert response.status_code == 201
    far = (await alerts(client, admin, region=OTHER_VILLAGE))[0]

    clerk = auth_keys.headers("registry_clerk", VILLAGE)
    cadre = auth_keys.headers("village_cadre", VILLAGE)
    assert [a["household_id"] for a in await alerts(client, clerk)] == [here["id"]]
    assert (await client.get(f"/alerts/{far['id']}", headers=clerk)).status_code == 404
    moved = await client.post(
        f"/alerts/{far['id']}/transitions",
        json={"action": "assess", "assessment": "marginal", "note": "x"},
        headers=clerk,
    )
    assert moved.status_code == 404
    outside = await client.post(
        "/alerts",
        json={"household_id": there["id"], "note": "走访发现", "evidence": [DOC]},
        headers=clerk,
    )
    assert outside.status_code == 404
    read_only = await client.post(
        "/alerts",
        json={"household_id": here["id"], "note": "走访发现", "evidence": [DOC]},
        headers=cadre,
    )
    assert read_only.status_code == 403
    assert len(await alerts(client, cadre)) == 1


async def test_overdue_alerts_by_the_clock(client, registry_app, admin):
    set_today(registry_app, dt.date(2026, 3, 1))
    household = await new_household(client, admin)
    ids = []
    for _ in range(2):
        created = await client.post(
            "/alerts",
            json={"household_id": household["id"], "note": "走访发现", "evidence": [DOC]},
            headers=admin,
        )
        ids.append(created.json()["id"])
    assert created.json()["due_date"] == "2026-03-31"
    await client.post(
        f"/alerts/{ids[1]}/transitions",
        json={"action": "assess", "assessment": "not_at_risk", "note": "核实无风险"},
        headers=admin,
    )
    set_today(registry_app, dt.date(2026, 3, 31))  # the due date itself is not late
    assert await alerts(client, admin, overdue="true") == []
    set_today(registry_app, dt.date(2026, 4, 1))
    [late] = await alerts(client, admin, overdue="true")
    assert late["id"] == ids[0] and late["overdue"] is True
    rest = await alerts(client, admin, overdue="false")
    assert [a["id"] for a in rest] == [ids[1]] and rest[0]["overdue"] is False
    assert [a["id"] for a in await alerts(client, admin, status="open")] == [ids[0]]


async def test_a_stream_missing_at_start_is_created_before_the_consumer(client, stack):
    """No department service runs yet (the fixture deleted every stream): the registry's
    runtime creates their streams itself, then its durable consumers on them."""
    nc = await nats.connect(stack.nats_url)
    try:
        js = nc.jetstream()

        async def durables():
            found = {}
            for stream in ("HEALTH", "HOUSING", "EDUCATION", "LOW_INCOME"):
                info = await js.stream_info(stream)
                found[stream] = [c.name for c in await js.consumers_info(stream)]
                assert info.config.subjects == [f"{stream.lower()}.>"]
            return found

        found = await eventually(durables, until=lambda f: all(f.values()))
        assert found == {s: [f"registry-{s.lower()}"] for s in found}
    finally:
        await nc.close()


async def test_an_event_about_a_merged_household_reaches_the_household_it_joined(
    client, registry_app, admin, js
):
    merged = await new_household(client, admin, state="candidate", members=2)
    survivor = await new_household(client, admin, state="candidate")
    head = merged["members"][0]["id"]
    done = await client.post(
        f"/households/{merged['id']}/adjustments",
        json={
            "change": "merge",
            "into_household_id": survivor["id"],
            "relations": {head: "sibling"},
            "reason_text": "兄弟并户",
            "evidence": [DOC],
        },
        headers=admin,
    )
    assert done.status_code == 200, done.text
    await publish(
        js,
        housing.APPRAISAL_RECORDED,
        household_id=merged["id"],
        person_id=head,  # the person kept their member id in the household they joined
        appraisal_id=uuid.uuid4(),
        grade="C",
        appraised_on=dt.date(2026, 3, 3),
        report_no="GH-2026-032",
    )
    await processed(registry_app, "housing", 1)
    [alert] = await alerts(client, admin, kind="dangerous_house")
    assert alert["household_id"] == survivor["id"]
    after = (await client.get(f"/households/{survivor['id']}", headers=admin)).json()
    assert after["monitoring_category"] == "marginal"
