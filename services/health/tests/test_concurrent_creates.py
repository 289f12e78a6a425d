"""Six identical creates at once (a client retrying a timed-out request): exactly one is
created, the others get the documented 409, never a 500 from the unique constraint."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import pytest
from gateway_testdata import VILLAGE, event, member, publish
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from test_chronic import certificate
from test_claims import claim
from test_critical import case
from test_doctors import YEAR, at, contract, household

from contracts.events import registry as registry_events
from devstack.testing import eventually
from health.conflicts import CONSTRAINT_PROBLEMS

N = 6


async def at_once(client, url: str, body: dict, headers: dict) -> list:
    return await asyncio.gather(*(client.post(url, json=body, headers=headers) for _ in range(N)))


def assert_one_created(responses, code: str) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (N - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {code}


async def count(health_app, sql: str, **params) -> int:
    async with health_app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_every_declared_constraint_exists(client, health_app):
    """A renamed constraint would silently turn its 409 into the generic one."""
    names = set(CONSTRAINT_PROBLEMS)
    async with health_app.state.runtime.engine.connect() as conn:
        found = set(
            (
                await conn.execute(
                    text(
                        "SELECT conname FROM pg_constraint WHERE conname = ANY(:n) "
                        "UNION SELECT indexname FROM pg_indexes WHERE indexname = ANY(:n)"
                    ),
                    {"n": list(names)},
                )
            ).scalars()
        )
    assert found == names


async def test_one_claim_number_at_once(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    body = claim(person)
    assert_one_created(await at_once(client, "/claims", body, headers), "DUPLICATE_CLAIM")
    assert await count(health_app, "SELECT count(*) FROM claims") == 1
    assert await count(health_app, "SELECT count(*) FROM settlements") == 1


@pytest.mark.parametrize("route", ["person", "household"])
async def test_one_enrolment_at_once(client, js, auth_keys, health_app, route):
    headers = auth_keys.headers("health_officer", VILLAGE)
    hid = uuid.uuid4()
    head = member("马建国", "head")
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=[head])
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    await eventually(
        lambda: client.get(
            "/reports/participation", params={"year": YEAR, "region": VILLAGE}, headers=headers
        ),
        until=lambda r: r.json()["total"]["persons"] == 1,
    )
    if route == "person":
        url, body = "/enrolments", {"person_id": str(head["member_id"]), "year": YEAR}
    else:
        url, body = f"/households/{hid}/enrolments", {"year": YEAR}
    assert_one_created(await at_once(client, url, body, headers), "ALREADY_ENROLLED")
    assert await count(health_app, "SELECT count(*) FROM enrolments") == 1


async def test_one_dialysis_record_and_one_session_a_day_at_once(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    registration = {"person_id": person, "started_on": f"{YEAR}-03-01", "facility": "县医院"}
    responses = await at_once(client, "/dialysis-patients", registration, headers)
    assert_one_created(responses, "DIALYSIS_OPEN")
    patient = next(r.json()["id"] for r in responses if r.status_code == 201)
    url = f"/dialysis-patients/{patient}/sessions"
    assert_one_created(
        await at_once(client, url, {"on": f"{YEAR}-03-02"}, headers), "DUPLICATE_SESSION"
    )
    assert await count(health_app, "SELECT count(*) FROM dialysis_sessions") == 1


async def test_one_open_case_a_patient_and_disease_at_once(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    body = case(person)
    assert_one_created(await at_once(client, "/critical-cases", body, headers), "CASE_EXISTS")
    assert await count(health_app, "SELECT count(*) FROM critical_cases") == 1


async def test_one_certificate_a_person_and_disease_at_once(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    body = certificate(person)
    responses = await at_once(client, "/chronic-certificates", body, headers)
    assert_one_created(responses, "CERTIFICATE_EXISTS")
    assert await count(health_app, "SELECT count(*) FROM chronic_certificates") == 1


async def test_one_doctor_contract_a_person_at_once(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    body = contract(person)
    assert_one_created(await at_once(client, "/doctor-contracts", body, headers), "CONTRACT_EXISTS")
    assert await count(health_app, "SELECT count(*) FROM doctor_contracts") == 1


#: A copy of a row with a new id and ``changes``: what another code path that skipped the
#: service's check would store.
COPY = (
    "INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(r) || "
    "jsonb_build_object('id', gen_random_uuid()) || CAST(:changes AS jsonb))).* "
    "FROM {table} r WHERE r.id = :source"
)


async def copy_row(health_app, table: str, source: str, changes: dict) -> str | None:
    """Store the copy; the name of the constraint that refused it, if one did."""
    try:
        async with health_app.state.runtime.engine.begin() as conn:
            await conn.execute(
                text(COPY.format(table=table)),
                {"source": uuid.UUID(source), "changes": json.dumps(changes)},
            )
    except IntegrityError as exc:
        return exc.orig.__cause__.constraint_name
    return None


async def test_the_constraints_state_the_rules_exactly(client, js, auth_keys, health_app):
    """The database refuses what the service's check refuses, and only that: a closed case,
    a revoked certificate, another disease or a later period may be stored beside."""
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    sources = {}
    for table, url, body in (
        ("critical_cases", "/critical-cases", case(person)),
        ("chronic_certificates", "/chronic-certificates", certificate(person)),
        ("doctor_contracts", "/doctor-contracts", contract(person)),
    ):
        created = await client.post(url, json=body, headers=headers)
        assert created.status_code == 201, created.text
        sources[table] = created.json()["id"]

    expectations = [
        ("critical_cases", {}, "uq_critical_cases_open_person_disease"),
        ("critical_cases", {"status": "treating"}, "uq_critical_cases_open_person_disease"),
        ("critical_cases", {"status": "referred"}, "uq_critical_cases_open_person_disease"),
        ("critical_cases", {"status": "treated"}, None),
        ("critical_cases", {"status": "closed"}, None),
        ("critical_cases", {"disease_code": "C34"}, None),
        ("chronic_certificates", {}, "ex_chronic_certificates_active_period"),
        (
            "chronic_certificates",
            {"issued_on": f"{YEAR}-12-31", "valid_until": f"{YEAR + 1}-06-30"},
            "ex_chronic_certificates_active_period",
        ),
        (
            "chronic_certificates",
            {"issued_on": f"{YEAR - 1}-01-01", "valid_until": f"{YEAR}-01-04"},
            None,
        ),
        ("chronic_certificates", {"status": "revoked"}, None),
        ("chronic_certificates", {"disease_code": "E11"}, None),
        ("doctor_contracts", {}, "ex_doctor_contracts_period"),
        ("doctor_contracts", {"status": "ended"}, "ex_doctor_contracts_period"),
        (
            "doctor_contracts",
            {"signed_on": f"{YEAR + 1}-01-01", "valid_until": f"{YEAR + 1}-12-31"},
            None,
        ),
    ]
    for table, changes, refused_by in expectations:
        refused = await copy_row(health_app, table, sources[table], changes)
        assert refused == refused_by, (table, changes)
    # An ended contract counts up to its end only: the day after may start another.
    async with health_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE doctor_contracts SET status = 'ended', ended_on = :end WHERE id = :id"),
            {"end": dt.date(YEAR, 3, 31), "id": uuid.UUID(sources["doctor_contracts"])},
        )
    later = {"signed_on": f"{YEAR}-04-01", "status": "active", "ended_on": None}
    assert (
        await copy_row(health_app, "doctor_contracts", sources["doctor_contracts"], later) is None
    )
    later["signed_on"] = f"{YEAR}-03-31"
    refused = await copy_row(health_app, "doctor_contracts", sources["doctor_contracts"], later)
    assert refused == "ex_doctor_contracts_period"
