"""Events of the health service (健康扶贫 / 医疗保障, DOMAIN §4) that the registry monitors.

Diagnoses stay in health (DOMAIN §1.7): the registry keeps the ``critical`` flag and the
diagnosis id of a diagnosis, never the disease in its own events.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.enums import HospitalLevel, describe
from contracts.events.common import PersonRef, department_event
from contracts.money import NonNegativeMoney


class ClaimSettled(PersonRef):
    """一站式结算: an inpatient claim settled at discharge (DOMAIN §4.2)."""

    claim_id: uuid.UUID = Field(description="The health service's claim id (the event subject)")
    settled_on: dt.date = Field(description="结算日期")
    total: NonNegativeMoney = Field(description="医疗总费用 T (compliant + out-of-catalogue)")
    out_of_pocket: NonNegativeMoney = Field(
        description="个人自付 (PERSONAL): what the patient paid after every payer"
    )
    hospital_level: HospitalLevel | None = Field(None, description=describe(HospitalLevel))


class DiseaseDiagnosed(PersonRef):
    """A diagnosis recorded by health (大病专项救治 list or not)."""

    diagnosis_id: uuid.UUID = Field(description="The health service's diagnosis id (subject)")
    disease_code: str = Field(min_length=1, max_length=16, description="ICD-10 code")
    disease_name: str = Field(min_length=1, max_length=100, description="病种名称")
    critical: bool = Field(description="On the 大病专项救治 list in force (e.g. 25种)")
    diagnosed_on: dt.date


class DialysisStarted(PersonRef):
    """A patient began maintenance haemodialysis (终末期肾病 血液透析, DOMAIN §4.3)."""

    enrolment_id: uuid.UUID = Field(description="The health service's dialysis record (subject)")
    started_on: dt.date
    facility: str | None = Field(None, max_length=100, description="透析医院")


CLAIM_SETTLED = department_event(
    "health.claim.settled",
    ClaimSettled,
    "claim",
    "An inpatient claim was settled (一站式结算): total and the patient's out-of-pocket share.",
)
DISEASE_DIAGNOSED = department_event(
    "health.disease.diagnosed",
    DiseaseDiagnosed,
    "diagnosis",
    "A disease was diagnosed; `critical` when it is on the 大病专项救治 list.",
)
DIALYSIS_STARTED = department_event(
    "health.dialysis.started",
    DialysisStarted,
    "dialysis",
    "A patient began maintenance dialysis (血液透析); rural-hukou patients are registered.",
)

EVENTS = [CLAIM_SETTLED, DISEASE_DIAGNOSED, DIALYSIS_STARTED]
