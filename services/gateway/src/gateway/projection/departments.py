"""Handlers of the line departments' events that decide a dimension.

A department's service that does not exist yet leaves its dimension ``unknown``; once its
events flow, adding its handlers here is all the gateway needs. A fact is about one
record of the department (an appraisal) or the whole household (health's and education's
assessments); the newest fact per dimension wins.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import HouseGrade
from contracts.events import CATALOGUE, education, health, housing
from contracts.status import Dimension, DimensionFact, DimensionState, Reason
from gateway.models import education_records_table, health_records_table
from gateway.projection.household import changing, set_dimension
from gateway.projection.records import KpiRecords
from gateway.projection.statistics import (
    EDUCATION_COUNTS,
    education_contribution,
    health_contribution,
)
from kit.app import ConsumerDefinition
from kit.envelope import Envelope


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


_HOUSE_GRADE_REASON = {HouseGrade.C: Reason.HOUSE_GRADE_C, HouseGrade.D: Reason.HOUSE_GRADE_D}


async def on_appraisal_recorded(session: AsyncSession, event: Envelope) -> None:
    """住房安全: A/B safe; C or D dangerous until a later appraisal says otherwise."""
    appraisal = housing.AppraisalRecorded.model_validate(event.data)
    reason = _HOUSE_GRADE_REASON.get(appraisal.grade)
    fact = DimensionFact(
        status=DimensionState.not_ok if reason else DimensionState.ok,
        reason=reason,
        as_of=start_of_day(appraisal.appraised_on),
    )
    async with changing(session, appraisal.household_id, appraisal.region_code) as row:
        set_dimension(row, Dimension.housing, fact, event)


async def on_education_assessed(session: AsyncSession, event: Envelope) -> None:
    """义务教育有保障 as education decides it for the whole household, and its
    compulsory-age members by where they are (入学率, dropouts)."""
    assessed = education.EducationAssessed.model_validate(event.data)
    async with changing(session, assessed.household_id, assessed.region_code) as row:
        newer = set_dimension(row, Dimension.education, assessed.education, event)
    if newer:  # the counts go with the dimension: an older assessment moves neither
        await EDUCATION_RECORDS.record(
            session,
            assessed.household_id,
            kind="household",
            region_code=assessed.region_code,
            **{name: getattr(assessed, name) for name in EDUCATION_COUNTS},
        )


async def on_aid_paid(session: AsyncSession, event: Envelope) -> None:
    """教育资助: a grant counts in its programme's 人次 and 元 of its school year."""
    aid = education.AidPaid.model_validate(event.data)
    await EDUCATION_RECORDS.record(
        session,
        aid.grant_id,
        kind="aid",
        region_code=aid.region_code,
        school_year=aid.school_year,
        programme=aid.programme.value,
        amount_fen=_fen(aid.amount),
    )


async def on_medical_assessed(session: AsyncSession, event: Envelope) -> None:
    """基本医疗有保障 as health decides it for the whole household."""
    assessed = health.MedicalAssessed.model_validate(event.data)
    async with changing(session, assessed.household_id, assessed.region_code) as row:
        set_dimension(row, Dimension.medical, assessed.medical, event)


async def on_enrolment(session: AsyncSession, event: Envelope) -> None:
    """参保 (recorded, updated or cancelled): counts towards 参保率 and 资助参保."""
    enrolment = health.EnrolmentEvent.model_validate(event.data)
    await HEALTH_RECORDS.record(
        session,
        enrolment.enrolment_id,
        kind="enrolment",
        region_code=enrolment.region_code,
        year=enrolment.year,
        counted=enrolment.status == "active",
        subsidy_fen=_fen(enrolment.subsidy),
    )


async def on_claim_settled(session: AsyncSession, event: Envelope) -> None:
    """一站式结算: counts towards 自付比 (the patients' share of the compliant cost)."""
    claim = health.ClaimSettled.model_validate(event.data)
    compliant = claim.compliant if claim.compliant is not None else claim.total
    out_of_catalogue = claim.total - compliant
    await HEALTH_RECORDS.record(
        session,
        claim.claim_id,
        kind="claim",
        region_code=claim.region_code,
        year=claim.policy_year,
        counted=True,
        compliant_fen=_fen(compliant),
        compliant_personal_fen=_fen(max(claim.out_of_pocket - out_of_catalogue, 0)),
    )


async def on_claim_reversed(session: AsyncSession, event: Envelope) -> None:
    """A reversed settlement no longer counts (until the claim is settled again)."""
    claim = health.ClaimReversed.model_validate(event.data)
    await HEALTH_RECORDS.record(
        session,
        claim.claim_id,
        kind="claim",
        region_code=claim.region_code,
        year=claim.policy_year,
        counted=False,
    )


HEALTH_RECORDS = KpiRecords(
    health_records_table,
    health_contribution,
    named_by={
        health.ENROLMENT_RECORDED: "enrolment_id",
        health.ENROLMENT_UPDATED: "enrolment_id",
        health.ENROLMENT_CANCELLED: "enrolment_id",
        health.CLAIM_SETTLED: "claim_id",
        health.CLAIM_REVERSED: "claim_id",
    },
    defaults={"subsidy_fen": 0, "compliant_fen": 0, "compliant_personal_fen": 0},
)
EDUCATION_RECORDS = KpiRecords(
    education_records_table,
    education_contribution,
    named_by={education.EDUCATION_ASSESSED: "household_id", education.AID_PAID: "grant_id"},
    defaults={
        **dict.fromkeys(EDUCATION_COUNTS, 0),
        "school_year": None,
        "programme": None,
        "amount_fen": 0,
    },
)
#: The departments' records that count in the region KPIs.
DEPARTMENT_RECORDS = (HEALTH_RECORDS, EDUCATION_RECORDS)


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


HOUSING = ConsumerDefinition(
    source_service="housing",
    catalogue=CATALOGUE,
    handlers={housing.APPRAISAL_RECORDED.name: on_appraisal_recorded},
)
EDUCATION = ConsumerDefinition(
    source_service="education",
    catalogue=CATALOGUE,
    handlers={
        education.EDUCATION_ASSESSED.name: on_education_assessed,
        education.AID_PAID.name: on_aid_paid,
    },
)
HEALTH = ConsumerDefinition(
    source_service="health",
    catalogue=CATALOGUE,
    handlers={
        health.MEDICAL_ASSESSED.name: on_medical_assessed,
        health.ENROLMENT_RECORDED.name: on_enrolment,
        health.ENROLMENT_UPDATED.name: on_enrolment,
        health.ENROLMENT_CANCELLED.name: on_enrolment,
        health.CLAIM_SETTLED.name: on_claim_settled,
        health.CLAIM_REVERSED.name: on_claim_reversed,
    },
)
