"""The household's medical dimension, assessed whenever something it depends on changes,
published when it changes (``health.household.medical_assessed``), and answered live by
``GET /households/{id}/summary`` for the gateway's fresh mode."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.status import Dimension, HouseholdSummary
from health.critical.schemas import CaseStatus
from health.events import changes
from health.medical.dimension import MedicalCounts, medical_fact
from health.models import (
    ChronicCertificate,
    CriticalCase,
    DoctorContract,
    Enrolment,
    MedicalAssessment,
    Person,
)
from kit.assessments import Assessment, Assessments
from kit.auth import Principal, ensure_visible
from kit.clock import Clock
from kit.db import among

#: The last assessment published for each household.
assessments = Assessments(
    MedicalAssessment.__table__, "medical_assessment", health_events.MEDICAL_ASSESSED, changes
)
#: A critical case identified but not yet in treatment (治疗中, 转诊 and 已救治 are treated).
UNTREATED = CaseStatus.identified.value


async def medical_counts(
    session: AsyncSession, household_ids: Iterable[uuid.UUID], today: dt.date
) -> dict[uuid.UUID, tuple[str, MedicalCounts]]:
    """The region of each household persons are known of, and what the medical rule needs
    to know of it on ``today``: one query for each count, whatever the number of
    households (a consumer's batch asks for hundreds)."""
    ids = sorted(set(household_ids))
    year = today.year
    insured = (
        select(Enrolment.id)
        .where(
            Enrolment.person_id == Person.id,
            Enrolment.year == year,
            Enrolment.status == "active",
        )
        .exists()
    )
    # The household's region is its members'; one who left may keep an older one.
    region = func.coalesce(
        func.min(Person.region_code).filter(Person.in_household), func.min(Person.region_code)
    )
    persons = await session.execute(
        select(
            Person.household_id,
            region,
            func.count(Person.id).filter(Person.in_household),
            func.count(Person.id).filter(Person.in_household, ~insured),
        )
        .where(among(Person.household_id, ids))
        .group_by(Person.household_id)
    )
    critical_untreated = dict(
        (
            await session.execute(
                select(CriticalCase.household_id, func.count(CriticalCase.id))
                .where(among(CriticalCase.household_id, ids), CriticalCase.status == UNTREATED)
                .group_by(CriticalCase.household_id)
            )
        ).all()
    )
    # A valid 门诊慢性病 certificate with no family-doctor contract in force (签约) today.
    contracted = (
        select(DoctorContract.id)
        .where(
            DoctorContract.person_id == ChronicCertificate.person_id,
            DoctorContract.status == "active",
            DoctorContract.signed_on <= today,
            DoctorContract.valid_until >= today,
        )
        .exists()
    )
    chronic_without_doctor = dict(
        (
            await session.execute(
                select(
                    ChronicCertificate.household_id,
                    func.count(func.distinct(ChronicCertificate.person_id)),
                )
                .where(
                    among(ChronicCertificate.household_id, ids),
                    ChronicCertificate.status == "active",
                    ChronicCertificate.issued_on <= today,
                    ChronicCertificate.valid_until >= today,
                    ~contracted,
                )
                .group_by(ChronicCertificate.household_id)
            )
        ).all()
    )
    return {
        household_id: (
            region_code,
            MedicalCounts(
                year=year,
                members=members,
                uninsured=uninsured,
                critical_untreated=critical_untreated.get(household_id, 0),
                chronic_without_doctor=chronic_without_doctor.get(household_id, 0),
            ),
        )
        for household_id, region_code, members, uninsured in persons
    }


class MedicalAssessor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def reassess(self, session: AsyncSession, household_ids: Iterable[uuid.UUID]) -> None:
        """In the caller's transaction: publish each household whose dimension changed.
        The same few statements for one household or a consumer's batch of hundreds (its
        counts, its stored assessments, one upsert)."""
        year, now = self.clock.today().year, self.clock.now()
        assessed = {}
        for household_id, (region, counts) in (
            await medical_counts(session, household_ids, self.clock.today())
        ).items():
            fact = medical_fact(counts, now)
            event = health_events.MedicalAssessed(
                household_id=household_id, region_code=region, policy_year=year, medical=fact
            )
            state = {"status": fact.status.value, "reason": fact.reason, "detail": fact.detail}
            assessed[household_id] = Assessment(region, state, event, fact.as_of)
        await assessments.publish_changed(session, assessed)

    async def summary(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> HouseholdSummary:
        known = await medical_counts(session, [household_id], self.clock.today())
        region, counts = known.get(household_id, (None, None))
        ensure_visible(actor, region, what="household")
        return HouseholdSummary(
            service="health",
            household_id=household_id,
            region_code=region,
            as_of=self.clock.now(),
            dimensions={Dimension.medical: medical_fact(counts, self.clock.now())},
            facts={"members": counts.members, "insured": counts.members - counts.uninsured},
        )
