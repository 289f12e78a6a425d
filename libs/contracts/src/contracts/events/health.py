"""Events of the health service (健康扶贫 / 医疗保障, DOMAIN §4): enrolments, settlements,
diagnoses and dialysis; the registry monitors some of them (防返贫).

Diagnoses stay in health (DOMAIN §1.7): the registry keeps the ``critical`` flag and the
diagnosis id of a diagnosis, never the disease in its own events.
"""

from __future__ import annotations

import uuid

from pydantic import Field

from contracts.dates import PolicyDate, PolicyYear
from contracts.enums import HospitalLevel, describe
from contracts.events.common import HouseholdRef, PersonRef, department_event
from contracts.money import NonNegativeMoney
from contracts.status import DimensionFact


class EnrolmentEvent(PersonRef):
    """参保: a person insured for a year, the premium and the part paid for them."""

    enrolment_id: uuid.UUID = Field(description="The health service's enrolment id (subject)")
    year: PolicyYear = Field(description="参保年度")
    status: str = Field(description="active | cancelled")
    premium: NonNegativeMoney = Field(description="个人缴费标准 of the year")
    subsidy: NonNegativeMoney = Field(description="资助参保: paid for the person")
    personal_premium: NonNegativeMoney = Field(description="What the person pays")
    subsidy_categories: list[str] = Field(
        description="Why subsidised (registered_poor, dibao, tekun, severe_disability)"
    )


class MedicalAssessed(HouseholdRef):
    """The household's medical dimension as health decides it (subject: the household)."""

    medical: DimensionFact


class ClaimSettled(PersonRef):
    """一站式结算: a claim settled at discharge (DOMAIN §4.2)."""

    claim_id: uuid.UUID = Field(description="The health service's claim id (the event subject)")
    settled_on: PolicyDate = Field(description="结算日期")
    total: NonNegativeMoney = Field(description="医疗总费用 T (compliant + out-of-catalogue)")
    out_of_pocket: NonNegativeMoney = Field(
        description="个人自付 (PERSONAL): what the patient paid after every payer"
    )
    hospital_level: HospitalLevel | None = Field(None, description=describe(HospitalLevel))
    kind: str = Field("inpatient", description="inpatient | outpatient")
    compliant: NonNegativeMoney | None = Field(None, description="合规费用 C")
    payers: dict[str, NonNegativeMoney] = Field(
        default_factory=dict,
        description="What each payer paid: bmi, cii, ma, supplementary, county_fund, personal",
    )
    settlement_number: int = Field(1, ge=1, description="1, then 2 after a reversal …")


class ClaimReversed(PersonRef):
    """A settlement undone (冲销) with its reason; the annual caps it used are restored."""

    claim_id: uuid.UUID = Field(description="The health service's claim id (the event subject)")
    reversed_on: PolicyDate
    reason: str = Field(min_length=1, max_length=300)
    total: NonNegativeMoney
    out_of_pocket: NonNegativeMoney = Field(description="The personal share that no longer holds")
    settlement_number: int = Field(ge=1)


class DiseaseDiagnosed(PersonRef):
    """A diagnosis recorded by health (大病专项救治 list or not)."""

    diagnosis_id: uuid.UUID = Field(description="The health service's diagnosis id (subject)")
    disease_code: str = Field(min_length=1, max_length=16, description="ICD-10 code")
    disease_name: str = Field(min_length=1, max_length=100, description="病种名称")
    critical: bool = Field(description="On the 大病专项救治 list in force (e.g. 25种)")
    diagnosed_on: PolicyDate


class CriticalCaseUpdated(PersonRef):
    """A 大病专项救治 case (救治台账) changed status. Flags only (DOMAIN §1.7): the disease
    stays in health."""

    case_id: uuid.UUID = Field(description="The health service's case id (the event subject)")
    status: str = Field(
        description="identified 已识别 | treating 救治中 | referred 已转诊 | treated 已救治 | "
        "closed 已结案"
    )
    previous_status: str | None = Field(None, description="Absent when the case was opened")
    under_treatment: bool = Field(
        description="Being treated now (treating or referred); identified is not yet"
    )
    changed_on: PolicyDate = Field(description="The date the status took effect")


class ChronicCertificateEvent(PersonRef):
    """门诊慢性病证明: issued or revoked. Flags only (DOMAIN §1.7): no disease."""

    certificate_id: uuid.UUID = Field(description="The health service's certificate id (subject)")
    status: str = Field(description="active | revoked")
    issued_on: PolicyDate
    valid_until: PolicyDate = Field(description="有效期至")
    revoked_on: PolicyDate | None = None


class DialysisStarted(PersonRef):
    """A patient began maintenance haemodialysis (终末期肾病 血液透析, DOMAIN §4.3)."""

    enrolment_id: uuid.UUID = Field(description="The health service's dialysis record (subject)")
    started_on: PolicyDate
    facility: str | None = Field(None, max_length=100, description="透析医院")


class ContractEvent(PersonRef):
    """家庭医生签约: a person's contract with a family-doctor team, signed or ended.

    Flags only (DOMAIN §1.7): ``chronic`` says the contract covers a 慢病, never which."""

    contract_id: uuid.UUID = Field(description="The health service's contract id (subject)")
    signed_on: PolicyDate = Field(description="签约日期")
    valid_until: PolicyDate = Field(description="Last day of the contract")
    paid: bool = Field(description="有偿签约 (true) or 无偿 (false)")
    chronic: bool = Field(description="The person has a contracted 慢病 (4类 or 6类)")
    status: str = Field(description="active | ended")
    ended_on: PolicyDate | None = Field(None, description="解约 date, when ended")


class DialysisSessionRecorded(PersonRef):
    """One haemodialysis session and the county subsidy it earned (DOMAIN §4.3)."""

    session_id: uuid.UUID = Field(description="The health service's session id (subject)")
    dialysis_id: uuid.UUID = Field(description="The patient's dialysis record")
    on: PolicyDate = Field(description="透析日期")
    subsidy: NonNegativeMoney = Field(description="县级透析补助 for the session (元)")


class DialysisEnded(PersonRef):
    """A patient's maintenance dialysis ended (transplant, death, moved …)."""

    dialysis_id: uuid.UUID = Field(description="The health service's dialysis record (subject)")
    started_on: PolicyDate
    ended_on: PolicyDate
    reason: str = Field(min_length=1, max_length=200)


MEDICAL_ASSESSED = department_event(
    "health.household.medical_assessed",
    MedicalAssessed,
    "household",
    "基本医疗有保障 of a household changed (the gateway's `medical` dimension): insured, "
    "treated, with a family doctor; counts, never names or diagnoses.",
    ("gateway",),
)
ENROLMENT_RECORDED = department_event(
    "health.enrolment.recorded",
    EnrolmentEvent,
    "enrolment",
    "A person was insured for a year (参保), with the premium subsidy that applies.",
    ("gateway",),
)
ENROLMENT_UPDATED = department_event(
    "health.enrolment.updated",
    EnrolmentEvent,
    "enrolment",
    "An enrolment's subsidy changed: the person joined or left every subsidised category.",
    ("gateway",),
)
ENROLMENT_CANCELLED = department_event(
    "health.enrolment.cancelled",
    EnrolmentEvent,
    "enrolment",
    "An enrolment was cancelled (退保, death, double enrolment).",
    ("gateway",),
)
CLAIM_SETTLED = department_event(
    "health.claim.settled",
    ClaimSettled,
    "claim",
    "An inpatient claim was settled (一站式结算): total and the patient's out-of-pocket share.",
    ("registry", "gateway"),
)
CLAIM_REVERSED = department_event(
    "health.claim.reversed",
    ClaimReversed,
    "claim",
    "A settlement was reversed (冲销) with its reason; the claim may be settled again.",
    ("gateway",),
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
CRITICAL_CASE_UPDATED = department_event(
    "health.critical_case.updated",
    CriticalCaseUpdated,
    "critical_case",
    "A 大病专项救治 case was opened or changed status (flags only, no disease).",
    (),
)
CHRONIC_CERTIFICATE_ISSUED = department_event(
    "health.chronic_certificate.issued",
    ChronicCertificateEvent,
    "chronic_certificate",
    "A 门诊慢性病 certificate was issued to a person (flags only, no disease).",
    (),
)
CHRONIC_CERTIFICATE_REVOKED = department_event(
    "health.chronic_certificate.revoked",
    ChronicCertificateEvent,
    "chronic_certificate",
    "A 门诊慢性病 certificate was revoked, with the date (flags only, no disease).",
    (),
)

CONTRACT_SIGNED = department_event(
    "health.contract.signed",
    ContractEvent,
    "contract",
    "A person signed a family-doctor contract (家庭医生签约), paid or free; `chronic` flags a "
    "contracted 慢病 without naming it.",
    (),
)
CONTRACT_ENDED = department_event(
    "health.contract.ended",
    ContractEvent,
    "contract",
    "A family-doctor contract was terminated (解约) before its end date.",
    (),
)
DIALYSIS_SESSION_RECORDED = department_event(
    "health.dialysis.session_recorded",
    DialysisSessionRecorded,
    "dialysis_session",
    "A haemodialysis session was recorded with the county subsidy it earned (透析补助).",
    (),
)
DIALYSIS_ENDED = department_event(
    "health.dialysis.ended",
    DialysisEnded,
    "dialysis",
    "A patient's maintenance dialysis ended, with the reason.",
    (),
)

EVENTS = [
    MEDICAL_ASSESSED,
    ENROLMENT_RECORDED,
    ENROLMENT_UPDATED,
    ENROLMENT_CANCELLED,
    CLAIM_SETTLED,
    CLAIM_REVERSED,
    DISEASE_DIAGNOSED,
    DIALYSIS_STARTED,
    CRITICAL_CASE_UPDATED,
    CHRONIC_CERTIFICATE_ISSUED,
    CHRONIC_CERTIFICATE_REVOKED,
    CONTRACT_SIGNED,
    CONTRACT_ENDED,
    DIALYSIS_SESSION_RECORDED,
    DIALYSIS_ENDED,
]
