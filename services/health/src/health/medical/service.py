"""The household's medical dimension, assessed whenever something it depends on changes,
published when it changes (``health.household.medical_assessed``), and answered live by
``GET /households/{id}/summary`` for the gateway's fresh mode."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.status import Dimension, DimensionFact, HouseholdSummary
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
from kit.auth import Principal, ensure_visible
from kit.changes import AggregateRef
from kit.clock import Clock

_ASSESSMENTS = MedicalAssessment.__table__
#: A critical case identified but not yet in treatment (治疗中, 转诊 and 已救治 are treated).
UNTREATED = CaseStatus.identified.value


async def medical_counts(
    session: AsyncSession, household_id: uuid.UUID, today: dt.date
) -> MedicalCounts:
    """What the medical rule needs to know of a household on ``today``."""
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
    members, uninsured = (
        await session.execute(
            select(func.count(Person.id), func.count(Person.id).filter(~insured)).where(
                Person.household_id == household_id, Person.in_household
            )
        )
    ).one()
    critical_untreated = await session.scalar(
        select(func.count(CriticalCase.id)).where(
            CriticalCase.household_id == household_id,
            CriticalCase.status == UNTREATED,
        )
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
    chronic_without_doctor = await session.scalar(
        select(func.count(func.distinct(ChronicCertificate.person_id))).where(
            ChronicCertificate.household_id == household_id,
            ChronicCertificate.status == "active",
            ChronicCertificate.issued_on <= today,
            ChronicCertificate.valid_until >= today,
            ~contracted,
        )
    )
    return MedicalCounts(
        year=today.year,
        members=members,
        uninsured=uninsured,
        critical_untreated=critical_untreated,
        chronic_without_doctor=chronic_without_doctor,
    )


class MedicalAssessor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def assess(self, session: AsyncSession, household_id: uuid.UUID) -> DimensionFact:
        counts = await medical_counts(session, household_id, self.clock.today())
        return medical_fact(counts, self.clock.now())

    async def reassess(self, session: AsyncSession, household_ids: Iterable[uuid.UUID]) -> None:
        """In the caller's transaction: publish each household whose dimension changed."""
        for household_id in sorted(set(household_ids)):
            fact = await self.assess(session, household_id)
            region = await session.scalar(
                select(Person.region_code).where(Person.household_id == household_id).limit(1)
            )
            if region is None:
                continue
            stored = (
                await session.execute(
                    select(MedicalAssessment)
                    .where(MedicalAssessment.household_id == household_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            state = (fact.status.value, fact.reason, fact.detail, region)
            if (
                stored is not None
                and (
                    stored.status,
                    stored.reason,
                    stored.detail,
                    stored.region_code,
                )
                == state
            ):
                continue
            # The row is upserted (two first assessments at once must not collide), so the
            # write path is given the assessment by reference, at its stored version.
            assessment = AggregateRef(
                "medical_assessment", household_id, region, stored.version if stored else 0
            )
            # Not audited: derived from the records whose changes are.
            await changes.record(
                session,
                assessment,
                health_events.MEDICAL_ASSESSED,
                health_events.MedicalAssessed(
                    household_id=household_id,
                    region_code=region,
                    policy_year=self.clock.today().year,
                    medical=fact,
                ),
                new=stored is None,
                audited=False,
            )
            values = dict(
                region_code=region,
                status=fact.status.value,
                reason=fact.reason,
                detail=fact.detail,
                version=assessment.version,
                assessed_at=fact.as_of,
            )
            await session.execute(
                insert(_ASSESSMENTS)
                .values(household_id=household_id, **values)
                .on_conflict_do_update(index_elements=["household_id"], set_=values)
            )

    async def summary(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> HouseholdSummary:
        region = await session.scalar(
            select(Person.region_code).where(Person.household_id == household_id).limit(1)
        )
        ensure_visible(actor, region, what="household")
        counts = await medical_counts(session, household_id, self.clock.today())
        return HouseholdSummary(
            service="health",
            household_id=household_id,
            region_code=region,
            as_of=self.clock.now(),
            dimensions={Dimension.medical: medical_fact(counts, self.clock.now())},
            facts={"members": counts.members, "insured": counts.members - counts.uninsured},
        )
