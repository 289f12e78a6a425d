"""The demo loader on a small county as education learns it from the registry's events."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from sqlalchemy import func, select

from contracts.enums import SchoolTerm
from contracts.events import education as education_events
from contracts.events import registry as registry_events
from devstack.registry_payloads import registry_household, registry_member
from education.demo.loader import Shares, load, place, school_year_start, student_count
from education.models import AidGrant, Student, outbox_table
from education.records import registry_persons
from education.reports.service import coverage
from kit.clock import FixedClock
from kit.db import create_engine, create_sessionmaker

COUNTY = "622924000000"
TODAY = dt.date(2026, 10, 15)
#: Ages on 1 September 2026 of each household's children: 3–21 are at school.
CHILD_AGES = [1, 4, 7, 9, 11, 13, 14, 16, 19, 25]


def born(age: int) -> str:
    return f"{2026 - age - 1}-12-01"  # ``age`` full years on 1 September 2026


async def test_the_demo_registers_the_children_of_school_age_once(education_app, client):
    snapshots = []
    for i in range(40):
        ages = CHILD_AGES[i % 5 :: 3]
        members = [registry_member(f"马{i}", "head", birth_date="1975-01-01")] + [
            registry_member(f"马{i}-{age}", "child", birth_date=born(age)) for age in ages
        ]
        snapshots.append(
            registry_events.HouseholdSnapshot.model_validate(
                registry_household(uuid.uuid4(), members=members)
            )
        )
    async with education_app.state.runtime.sessionmaker() as session, session.begin():
        await registry_persons.apply_households(session, snapshots)
    of_school_age = sum(3 <= age <= 21 for i in range(40) for age in CHILD_AGES[i % 5 :: 3])

    settings = education_app.state.runtime.settings
    clock = FixedClock(TODAY)
    # Shares large enough that a county of 40 households has some of each.
    shares = Shares(unmatched=0.1, dropout=0.2, home_teaching=0.1, unpaid=0.2)
    counts = await load(settings, clock=clock, shares=shares, show_progress=False)
    assert counts is not None
    assert counts.unmatched and counts.dropouts and counts.home_teaching
    assert counts.grants and counts.unpaid
    assert counts.children == of_school_age
    assert counts.students + counts.unmatched == of_school_age

    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            assert await student_count(session, COUNTY) == counts.students
            dropped = await session.scalar(
                select(func.count(Student.id)).where(Student.enrolment_status == "dropped_out")
            )
            home = await session.scalar(
                select(func.count(Student.id)).where(
                    Student.enrolment_status == "home_teaching", Student.evidence.is_not(None)
                )
            )
            published = await session.scalar(
                select(func.count()).where(
                    outbox_table.c.event_type == education_events.STUDENT_DROPPED_OUT.type
                )
            )
        assert dropped == counts.dropouts == published
        assert home == counts.home_teaching
        async with sessions() as session:
            grants = await session.scalar(select(func.count(AidGrant.id)))
            aid = await session.scalar(select(func.sum(AidGrant.amount)))
            paid = await session.scalar(
                select(func.count()).where(
                    outbox_table.c.event_type == education_events.AID_PAID.type
                )
            )
            # 资助全覆盖: exactly the students the demo left unpaid by a programme.
            gaps = await coverage(session, COUNTY, 2026, SchoolTerm.autumn, TODAY)
        assert grants == counts.grants == paid and aid == counts.aid
        assert len(gaps.gaps) == counts.unpaid
        assert all(len(gap.missing) == 1 for gap in gaps.gaps)
        # Loaded once: a second run adds nothing.
        assert await load(settings, clock=clock, show_progress=False) is None
        async with sessions() as session:
            assert await student_count(session, COUNTY) == counts.students
    finally:
        await engine.dispose()


def test_a_child_is_placed_by_age_at_the_start_of_the_school_year():
    rng = random.Random(1)
    assert school_year_start(TODAY) == dt.date(2026, 9, 1)
    assert school_year_start(dt.date(2027, 3, 1)) == dt.date(2026, 9, 1)
    assert place(2, rng) is None and place(22, rng) is None
    assert place(6, rng) == ("primary", 1)
    assert place(11, rng) == ("primary", 6)
    assert place(12, rng) == ("junior", 1)
    assert place(14, rng) == ("junior", 3)
