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
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.events import education as education_events
from contracts.status import Dimension, DimensionFact, HouseholdSummary
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
from kit.auth import Principal, ensure_visible
from kit.changes import AggregateRef
from kit.clock import Clock
from kit.db import among, atomic

_ASSESSMENTS = EducationAssessment.__table__


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


def _state(fact: DimensionFact, region: str, counts: CompulsoryCounts) -> dict:
    """An assessment as it is stored (and compared with the stored one)."""
    return dict(
        region_code=region,
        status=fact.status.value,
        reason=fact.reason,
        detail=fact.detail,
        compulsory_age=counts.compulsory_age,
        in_school=counts.in_school,
        dropped_out=counts.dropped_out,
        unmatched=counts.unmatched,
    )


class EducationAssessor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def reassess(self, session: AsyncSession, household_ids: Iterable[uuid.UUID]) -> None:
        """In the caller's transaction: publish each household whose dimension or counts
        changed. The same few statements for one household or a batch of hundreds (their
        members and students, their stored assessments, one upsert), and a change recorded
        for each household that changed, in the order of their ids."""
        ids = sorted(set(household_ids))
        if not ids:
            return
        today = self.clock.today()
        known = await household_counts(session, ids, today)
        stored = {
            row.household_id: row
            for row in await session.execute(
                select(_ASSESSMENTS)
                .where(among(_ASSESSMENTS.c.household_id, ids))
                .order_by(_ASSESSMENTS.c.household_id)
                .with_for_update()
            )
        }
        assessed = []
        for household_id in ids:
            if household_id not in known:
                continue  # no person of it known here
            region, counts = known[household_id]
            fact = fact_of_counts(counts, self.clock.now())
            state = _state(fact, region, counts)
            before = stored.get(household_id)
            if before is not None and {k: getattr(before, k) for k in state} == state:
                continue
            # The row is upserted (two first assessments at once must not collide), so the
            # write path is given the assessment by reference, at its stored version.
            assessment = AggregateRef(
                "education_assessment", household_id, region, before.version if before else 0
            )
            # Not audited: derived from the records whose changes are.
            await changes.record(
                session,
                assessment,
                education_events.EDUCATION_ASSESSED,
                education_events.EducationAssessed(
                    household_id=household_id,
                    region_code=region,
                    policy_year=today.year,
                    education=fact,
                    compulsory_age=counts.compulsory_age,
                    in_school=counts.in_school,
                    dropped_out=counts.dropped_out,
                    unmatched=counts.unmatched,
                ),
                new=before is None,
                audited=False,
            )
            assessed.append(
                dict(
                    household_id=household_id,
                    **state,
                    version=assessment.version,
                    assessed_at=fact.as_of,
                )
            )
        if assessed:
            statement = insert(_ASSESSMENTS).values(assessed)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["household_id"],
                    set_={name: statement.excluded[name] for name in assessed[0]},
                )
            )

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
