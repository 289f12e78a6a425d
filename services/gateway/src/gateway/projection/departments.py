"""Handlers of the line departments' events that decide a dimension.

A department's service that does not exist yet leaves its dimension ``unknown``; once its
events flow, adding its handlers here is all the gateway needs. Each fact is about one
record of the department (an appraisal, a student); the newest fact per dimension wins.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import HouseGrade
from contracts.events import CATALOGUE, education, health, housing
from contracts.status import Dimension, DimensionFact, DimensionState, Reason
from gateway.models import health_records_table
from gateway.projection.household import changing, set_dimension
from gateway.projection.statistics import health_contribution, move_between
from kit.app import ConsumerDefinition
from kit.envelope import Envelope
from kit.rows import TransactionRows


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


async def on_student_dropped_out(session: AsyncSession, event: Envelope) -> str | None:
    """义务教育有保障 fails when a compulsory-age child drops out (控辍保学)."""
    dropout = education.StudentDroppedOut.model_validate(event.data)
    if not dropout.compulsory:
        return "ignored"
    fact = DimensionFact(
        status=DimensionState.not_ok,
        reason=Reason.DROPOUT,
        as_of=start_of_day(dropout.dropped_out_on),
    )
    async with changing(session, dropout.household_id, dropout.region_code) as row:
        set_dimension(row, Dimension.education, fact, event)
    return None


async def on_medical_assessed(session: AsyncSession, event: Envelope) -> None:
    """基本医疗有保障 as health decides it for the whole household."""
    assessed = health.MedicalAssessed.model_validate(event.data)
    async with changing(session, assessed.household_id, assessed.region_code) as row:
        set_dimension(row, Dimension.medical, assessed.medical, event)


async def on_enrolment(session: AsyncSession, event: Envelope) -> None:
    """参保 (recorded, updated or cancelled): counts towards 参保率 and 资助参保."""
    enrolment = health.EnrolmentEvent.model_validate(event.data)
    await _health_record(
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
    await _health_record(
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
    await _health_record(
        session,
        claim.claim_id,
        kind="claim",
        region_code=claim.region_code,
        year=claim.policy_year,
        counted=False,
    )


#: Health records a transaction changes (see kit.rows).
HEALTH_RECORDS = TransactionRows(health_records_table, "record_id")
#: The payload fields naming a health record.
HEALTH_RECORD_IDS = ("enrolment_id", "claim_id")


async def _health_record(session: AsyncSession, record_id: uuid.UUID, **values) -> None:
    """The record's new state: written at the end of the transaction, which moves the KPI
    counters by the difference (:func:`write_health_records`)."""
    row = await HEALTH_RECORDS.edit(session, record_id, new=lambda: {"record_id": record_id})
    row.update({"subsidy_fen": 0, "compliant_fen": 0, "compliant_personal_fen": 0, **values})


async def prepare_health_records(session: AsyncSession, events: list[Envelope]) -> None:
    """Load at once every health record the events name."""
    ids = set()
    for event in events:
        for name in HEALTH_RECORD_IDS:
            with contextlib.suppress(TypeError, ValueError):  # absent, or the handler says
                ids.add(uuid.UUID(event.data.get(name)))
    await HEALTH_RECORDS.load(session, ids)


async def write_health_records(session: AsyncSession) -> None:
    """Write the transaction's changed records; move the counters by what each changed."""
    for change in await HEALTH_RECORDS.write(session):
        stored = change.stored
        await move_between(
            session,
            None if stored is None else (stored["region_code"], health_contribution(stored)),
            (change.row["region_code"], health_contribution(change.row)),
        )


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
    handlers={education.STUDENT_DROPPED_OUT.name: on_student_dropped_out},
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
