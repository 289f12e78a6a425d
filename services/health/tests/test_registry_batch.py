"""The registry consumer's batch: several events applied in one transaction derive what
one event a transaction derives (the persons, the enrolments followed, the medical
assessments and the events health publishes), against two real databases."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from gateway_testdata import VILLAGE, envelope, event, member, snapshot
from sqlalchemy import text

from contracts.events import registry as registry_events
from health.config import HealthSettings
from health.enrolment import schemas
from health.enrolment.service import EnrolmentService
from health.main import create_app
from kit.app import Runtime
from kit.auth import Principal
from kit.clock import FixedClock
from kit.db import atomic
from kit.envelope import encode, parse

TODAY = dt.date(2026, 11, 22)
OFFICER = Principal(subject="officer", scopes=frozenset(), region=VILLAGE)


def received(body: dict):
    """The event as the consumer reads it off the bus."""
    return parse(encode(body))


def created(household_id: uuid.UUID, members: list[dict], **facts):
    return received(
        event(registry_events.HOUSEHOLD_CREATED, household_id, 1, members=members, **facts)[1]
    )


def member_event(spec, household_id, sequence, changed: dict, members: list[dict], **facts):
    household = snapshot(household_id, members=members, **facts)
    payload = dict(household_id=household_id, region_code=VILLAGE, member=changed)
    return received(
        envelope(
            spec,
            spec.payload(**payload, household=household),
            subject=household_id,
            sequence=sequence,
        )
    )


class Health:
    """A health service's database and registry consumer, not started: the test applies
    the events itself, in the transactions it chooses."""

    def __init__(self, app) -> None:
        app.state.clock = FixedClock(TODAY)
        self.clock = app.state.clock
        self.runtime = Runtime(app.state.definition)
        self.consumer = self.runtime.consumers[0]

    async def one_by_one(self, events) -> None:
        for one in events:
            await self.consumer.apply(one)

    async def in_one_transaction(self, events) -> None:
        async with self.consumer.sessionmaker() as session, session.begin():
            for one in events:
                await self.consumer.apply_in(session, one)
            await self.consumer.finish(session)

    async def enrol(self, *persons: dict) -> None:
        async with self.runtime.sessionmaker() as session, atomic(session):
            for person in persons:
                await EnrolmentService(self.clock).enrol(
                    session,
                    schemas.EnrolmentCreate(person_id=person["member_id"], year=TODAY.year),
                    OFFICER,
                )

    async def rows(self, query: str) -> list[dict]:
        async with self.runtime.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(text(query))).mappings()]

    async def state(self) -> dict:
        """What the events left, without what differs between two databases by nature
        (the enrolments' and events' ids, the times rows were written)."""
        persons = await self.rows("SELECT * FROM persons ORDER BY id")
        enrolments = await self.rows(
            "SELECT person_id, year, status, premium, subsidy, personal_premium, "
            "subsidy_categories, region_code, version FROM enrolments ORDER BY person_id"
        )
        assessments = await self.rows("SELECT * FROM medical_assessments ORDER BY household_id")
        published = await self.rows(
            "SELECT event_type, envelope->'sequence' AS sequence, envelope->'data' AS data "
            "FROM outbox ORDER BY position"
        )
        for row in published:
            row["data"].pop("enrolment_id", None)
        return dict(
            persons=[{**row, "updated_at": None} for row in persons],
            enrolments=enrolments,
            assessments=assessments,
            published=Counter(repr(sorted(row.items())) for row in published),
        )

    async def close(self) -> None:
        await self.runtime.engine.dispose()


async def test_a_batch_in_one_transaction_derives_what_one_event_a_transaction_does(stack):
    first, second, third, fourth = (uuid.uuid4() for _ in range(4))
    head, son = member("马建国", "head"), member("马小军", "child")
    widow, daughter_in_law = member("李秀英", "head"), member("王芳", "spouse")
    newcomer = member("张三", "head")
    surveyed_head, surveyed_wife = member("赵四", "head"), member("钱梅", "spouse")
    before = [
        created(first, [head, son]),
        created(second, [widow]),
        created(fourth, [surveyed_head, surveyed_wife], poverty_state="surveyed"),
    ]
    batch = [
        # The first household twice: it is rejected (the head pays his premium), then the
        # son, never insured, leaves (every member left is insured: the dimension is ok).
        received(
            event(
                registry_events.HOUSEHOLD_UPDATED,
                first,
                2,
                members=[head, son],
                poverty_state="rejected",
                changed=["poverty_state"],
            )[1]
        ),
        member_event(
            registry_events.MEMBER_ADDED, second, 2, daughter_in_law, [widow, daughter_in_law]
        ),
        member_event(
            registry_events.MEMBER_REMOVED, first, 3, son, [head], poverty_state="rejected"
        ),
        created(third, [newcomer]),
        # Registered: the subsidy of both enrolments switches on.
        received(
            event(
                registry_events.HOUSEHOLD_STATE_CHANGED,
                fourth,
                2,
                members=[surveyed_head, surveyed_wife],
                poverty_state="registered",
                action="register",
                from_state="publicised",
                from_stage=None,
                on_date="2026-06-01",
            )[1]
        ),
    ]
    states = []
    for apply in ("in_one_transaction", "one_by_one"):
        health = Health(create_app(HealthSettings(**await stack.settings_for("health"))))
        try:
            await health.one_by_one(before)
            await health.enrol(head, widow, surveyed_head, surveyed_wife)
            await getattr(health, apply)(batch)
            states.append(await health.state())
        finally:
            await health.close()
    in_one, one_by_one = states

    assert in_one["persons"] == one_by_one["persons"]
    assert in_one["enrolments"] == one_by_one["enrolments"]
    assert in_one["assessments"] == one_by_one["assessments"]
    assert in_one["published"] == one_by_one["published"]
    # …and the batch did derive something: the subsidies followed, the dimensions moved.
    subsidy = {row["person_id"]: str(row["subsidy"]) for row in in_one["enrolments"]}
    assert subsidy == {
        head["member_id"]: "0.00",
        widow["member_id"]: "220.00",
        surveyed_head["member_id"]: "220.00",
        surveyed_wife["member_id"]: "220.00",
    }
    assessed = {row["household_id"]: row["detail"] for row in in_one["assessments"]}
    assert assessed == {
        first: None,
        second: "1 of 2 members not insured for 2026",
        third: "1 of 1 members not insured for 2026",
        fourth: None,
    }
    left = {row["id"]: row["in_household"] for row in in_one["persons"]}
    assert not left[son["member_id"]] and left[daughter_in_law["member_id"]]
