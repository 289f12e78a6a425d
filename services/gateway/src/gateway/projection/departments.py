"""Handlers of the line departments' events that decide a dimension.

A department's service that does not exist yet leaves its dimension ``unknown``; once its
events flow, adding its handlers here is all the gateway needs. Each fact is about one
record of the department (an appraisal, a student); the newest fact per dimension wins.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import HouseGrade
from contracts.events import education, health, housing
from contracts.status import Dimension, DimensionFact, DimensionState, Reason
from gateway.projection.household import changing, set_dimension
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


HOUSING = ConsumerDefinition(
    source_service="housing",
    handlers={housing.APPRAISAL_RECORDED.name: on_appraisal_recorded},
)
EDUCATION = ConsumerDefinition(
    source_service="education",
    handlers={education.STUDENT_DROPPED_OUT.name: on_student_dropped_out},
)
HEALTH = ConsumerDefinition(
    source_service="health",
    handlers={health.MEDICAL_ASSESSED.name: on_medical_assessed},
)
