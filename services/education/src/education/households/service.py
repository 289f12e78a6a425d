"""The household's 义务教育有保障 dimension (DOMAIN §3.1), assessed whenever something it
depends on changes (a student's record, the household's members), published when it
changes (``education.household.education_assessed``), and answered live by
``GET /households/{id}/summary`` for the gateway's fresh mode.

Age moves on without an event: a child turns 6, or the term after their 16th birthday
starts. The summary is exact at any moment; the stored assessment and its event catch up
at the household's next change, or at the daily reassessment of every household
(``python -m education.reassess``, :meth:`EducationAssessor.reassess_everyone`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.events import education as education_events
from contracts.status import Dimension, HouseholdSummary
from education.compulsory import (
    Child,
    CompulsoryAges,
    CompulsoryCounts,
    compulsory_counts,
    fact_of_counts,
    finished_stage,
)
from education.events import changes
from education.models import EducationAssessment, Person, Student
from education.policy import compulsory_ages
from kit.assessments import Assessment, Assessments
from kit.auth import Principal, ensure_visible
from kit.clock import Clock
from kit.db import among, atomic


def child_of(person: Person, student: Student | None) -> Child:
    """A member as the rule reads them: their 学籍 if one is matched to them."""
    if student is None:
        return Child(person.birth_date)
    status = EnrolmentStatus(student.enrolment_status)
    return Child(
        person.birth_date,
        finished_stage=finished_stage(SchoolStage(student.stage), status),
        status=status,
        evidenced=student.evidence is not None,
    )


async def household_counts(
    session: AsyncSession, household_ids: Iterable[uuid.UUID], today: dt.date
) -> dict[uuid.UUID, tuple[str, CompulsoryCounts]]:
    """The region of each household persons are known of, and its compulsory-age members
    counted on ``today`` with the ages of its region and year: one query whatever the
    number of households (a consumer's batch asks for hundreds)."""
    rows = await session.execute(
        select(Person, Student)
        .outerjoin(Student, Student.person_id == Person.id)
        .where(among(Person.household_id, sorted(set(household_ids))))
    )
    members: dict[uuid.UUID, list[tuple[Person, Student | None]]] = defaultdict(list)
    for person, student in rows:
        members[person.household_id].append((person, student))
    ages: dict[str, CompulsoryAges] = {}  # a village's households share theirs
    known = {}
    for household_id, of_household in members.items():
        # The household's region is its members'; one who left may keep an older one.
        present = [(p, s) for p, s in of_household if p.in_household]
        region = min(p.region_code for p, _ in present or of_household)
        if region not in ages:
            ages[region] = await compulsory_ages(session, region, today.year)
        children = [child_of(p, s) for p, s in present if p.birth_date is not None]
        known[household_id] = (region, compulsory_counts(children, today, ages[region]))
    return known


#: The counts an assessment stores and publishes with the dimension.
COUNTS = ("compulsory_age", "in_school", "dropped_out", "unmatched")
#: The last assessment published for each household.
assessments = Assessments(
    EducationAssessment.__table__,
    "education_assessment",
    education_events.EDUCATION_ASSESSED,
    changes,
)


class EducationAssessor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def reassess(self, session: AsyncSession, household_ids: Iterable[uuid.UUID]) -> None:
        """In the caller's transaction: publish each household whose dimension or counts
        changed. The same few statements for one household or a batch of hundreds (their
        members and students, their stored assessments, one upsert)."""
        today, now = self.clock.today(), self.clock.now()
        assessed = {}
        for household_id, (region, counts) in (
            await household_counts(session, household_ids, today)
        ).items():
            fact = fact_of_counts(counts, now)
            event = education_events.EducationAssessed(
                household_id=household_id,
                region_code=region,
                policy_year=today.year,
                education=fact,
                **{name: getattr(counts, name) for name in COUNTS},
            )
            state = {
                "status": fact.status.value,
                "reason": fact.reason,
                "detail": fact.detail,
                **{name: getattr(counts, name) for name in COUNTS},
            }
            assessed[household_id] = Assessment(region, state, event, now)
        await assessments.publish_changed(session, assessed)

    async def reassess_everyone(
        self, sessions: async_sessionmaker[AsyncSession], batch: int = 500
    ) -> int:
        """Reassess every household persons are known of, ``batch`` households a
        transaction (the daily catch-up with age); the number of households read."""
        after: uuid.UUID | None = None
        done = 0
        while True:
            async with sessions() as session, atomic(session):
                query = select(Person.household_id).distinct().order_by(Person.household_id)
                if after is not None:
                    query = query.where(Person.household_id > after)
                ids = list((await session.scalars(query.limit(batch))).all())
                if not ids:
                    return done
                await self.reassess(session, ids)
            after, done = ids[-1], done + len(ids)

    async def summary(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> HouseholdSummary:
        known = await household_counts(session, [household_id], self.clock.today())
        region, counts = known.get(household_id, (None, CompulsoryCounts()))
        ensure_visible(actor, region, what="household")
        now = self.clock.now()
        return HouseholdSummary(
            service="education",
            household_id=household_id,
            region_code=region,
            as_of=now,
            dimensions={Dimension.education: fact_of_counts(counts, now)},
            facts={
                "compulsory_age": counts.compulsory_age,
                "in_school": counts.in_school,
                "dropped_out": counts.dropped_out,
                "out_of_school": counts.out_of_school,
                "unmatched": counts.unmatched,
            },
        )
