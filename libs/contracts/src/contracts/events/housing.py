"""Events of the housing service (住房安全, DOMAIN §5) that the registry monitors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.enums import HouseGrade, describe
from contracts.events.common import HouseholdRef, department_event


class AppraisalRecorded(HouseholdRef):
    """A house safety appraisal (房屋安全鉴定) of the household's dwelling."""

    appraisal_id: uuid.UUID = Field(description="The housing service's appraisal id (subject)")
    grade: HouseGrade = Field(description=describe(HouseGrade))
    appraised_on: dt.date
    report_no: str | None = Field(None, max_length=64, description="鉴定报告编号")


APPRAISAL_RECORDED = department_event(
    "housing.appraisal.recorded",
    AppraisalRecorded,
    "appraisal",
    "A house was appraised (房屋安全鉴定): grade A/B safe, C/D dangerous (危房).",
    consumers=("registry", "gateway"),
)

EVENTS = [APPRAISAL_RECORDED]
