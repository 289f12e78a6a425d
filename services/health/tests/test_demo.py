"""The demo loader on a small county projected from registry events over the real bus."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway_testdata import event, publish
from sqlalchemy import func, select

from contracts.events import registry as registry_events
from health.demo.loader import load, table_counts
from health.models import Claim, CriticalCase, DialysisSession, Enrolment, FollowUp, Person
from health.records import registry_persons
from kit.clock import FixedClock
from kit.db import create_engine, create_sessionmaker

COUNTY = "622924000000"
HOUSEHOLDS = 20


def member(index: int, relation: str, born: int) -> dict:
    return dict(
        member_id=uuid.uuid4(),
        name=f"马{index}",
        has_id_number=True,
        gender="male" if index % 2 else "female",
        birth_date=f"{born}-03-01",
        relation=relation,
        labour_capacity="able",
    )


async def test_the_demo_loads_a_projected_county_once(health_app, client, js, stack):
    sizes = [2 + i % 2 for i in range(HOUSEHOLDS)]  # 2 or 3 members
    for i, size in enumerate(sizes):
        members = [member(i * 3, "head", 1960 + i), member(i * 3 + 1, "spouse", 1962 + i)]
        members += [member(i * 3 + 2, "child", 1995)] if size == 3 else []
        _, body = event(registry_events.HOUSEHOLD_CREATED, uuid.uuid4(), 1, members=members)
        await publish(js, registry_events.HOUSEHOLD_CREATED, body)
    await registry_persons.caught_up(
        stack.nats_url, "health", timeout=60, quiet=1.0, echo=lambda _: None
    )

    settings = health_app.state.runtime.settings
    clock = FixedClock(dt.date(2026, 10, 15))
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Person)) == sum(sizes)

        counts = await load(settings, scale=0.05, clock=clock, show_progress=False)
        assert counts is not None
        # 2% of 20 households rounds to none: one is left out all the same.
        assert counts.households == HOUSEHOLDS and counts.not_insured_households == 1
        # 6 inpatient and 3 outpatient; 1 of them reversed and settled again.
        assert counts.claims == 9 and counts.resettled == 1
        # 8 certificate holders, 7 of them contracted (90%), and 20 others.
        assert counts.certificates == 8 and counts.contracts == 7 + 20
        assert counts.critical_cases == 1 and counts.dialysis_patients == 1

        async with sessions() as session:
            stored = await table_counts(session, COUNTY, 2026)
            insured_households = await session.scalar(
                select(func.count(func.distinct(Enrolment.household_id)))
            )
            case = (await session.execute(select(CriticalCase))).scalar_one()
            sessions_held = await session.scalar(select(func.count()).select_from(DialysisSession))
            follow_ups = await session.scalar(select(func.count()).select_from(FollowUp))
            statuses = set((await session.execute(select(Claim.status))).scalars())
        assert stored == {"enrolments": counts.enrolments, "claims": 9, "contracts": 27}
        assert insured_households == HOUSEHOLDS - 1
        # Everyone of the 19 insured households: 2 or 3 members each.
        assert sum(sizes) - 3 <= counts.enrolments <= sum(sizes) - 2
        # The dialysis patient's 大病 case (终末期肾病), and 2–3 sessions a week since the start.
        assert case.disease_code == "N18.5" and case.status == "treating"
        assert sessions_held == counts.dialysis_sessions > 0
        assert follow_ups == counts.follow_ups > 0
        assert statuses == {"settled"}

        # The same again: the county's year is loaded, nothing is added.
        assert await load(settings, scale=0.05, clock=clock, show_progress=False) is None
        async with sessions() as session:
            assert await table_counts(session, COUNTY, 2026) == stored
    finally:
        await engine.dispose()
