"""大病专项救治 API schemas: the versioned list of diseases and the treatment cases."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from contracts.dates import PolicyDate
from contracts.region import RegionCode
from contracts.validation import FieldsError

IcdCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Z][0-9A-Z.]*$")]


class CaseStatus(StrEnum):
    """专项救治台账 status."""

    identified = "identified"  # 已识别 (on the ledger, not yet treated)
    treating = "treating"  # 救治中
    referred = "referred"  # 已转诊
    treated = "treated"  # 已救治
    closed = "closed"  # 已结案 (death or other, with a reason)


#: identified → treating → treated | referred → treated; an open case may be closed.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.identified: frozenset({CaseStatus.treating, CaseStatus.referred, CaseStatus.closed}),
    CaseStatus.treating: frozenset({CaseStatus.treated, CaseStatus.referred, CaseStatus.closed}),
    CaseStatus.referred: frozenset({CaseStatus.treated, CaseStatus.closed}),
    CaseStatus.treated: frozenset(),
    CaseStatus.closed: frozenset(),
}
OPEN = frozenset({CaseStatus.identified, CaseStatus.treating, CaseStatus.referred})
#: Being treated now (救治中 or 转诊): what the gateway's medical dimension asks of a case.
UNDER_TREATMENT = frozenset({CaseStatus.treating, CaseStatus.referred})
#: 救治: the case reached treatment (the 救治率's numerator).
IN_TREATMENT = frozenset({CaseStatus.treating, CaseStatus.referred, CaseStatus.treated})


class DiseaseIn(BaseModel):
    code: IcdCode = Field(description="ICD-10 code prefix: C16 covers C16.0 … C16.9")
    name: str = Field(min_length=1, max_length=100, description="病种名称")


class DiseaseOut(BaseModel):
    code: str = Field(description="ICD-10 code prefix: C16 covers C16.0 … C16.9")
    name: str
    list_id: uuid.UUID = Field(description="The version the disease comes from")
    list_name: str
    region_code: str | None = Field(description="None: the national list")


class ListVersionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50, description='e.g. "25种"')
    region_code: RegionCode = Field(
        description="The subtree the version applies to, on top of the national list"
    )
    valid_from: PolicyDate = Field(description="First day in force")
    valid_to: PolicyDate | None = Field(None, description="Last day in force (none: open)")
    diseases: list[DiseaseIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _dates_in_order(self) -> ListVersionCreate:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise FieldsError("valid_to is before valid_from", "valid_from", "valid_to")
        return self


class ListVersionOut(BaseModel):
    id: uuid.UUID
    name: str
    region_code: str | None = Field(description="None: the national list")
    valid_from: dt.date
    valid_to: dt.date | None
    diseases: list[DiseaseIn]


class ListInForce(BaseModel):
    on: dt.date
    region_code: str
    versions: list[str] = Field(description="Names of the versions that make up the list")
    kinds: int = Field(description="Number of diseases (e.g. 25)")
    diseases: list[DiseaseOut]


class CaseCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Registry member id (户成员) of the patient")
    disease_code: IcdCode = Field(
        description="The patient's ICD-10 code: must fall under a disease of the list in "
        "force for the patient's region on the diagnosis date",
    )
    diagnosed_on: PolicyDate = Field(description="确诊日期")
    designated_hospital: str = Field(min_length=1, max_length=100, description="定点救治医院")
    status: CaseStatus = Field(
        CaseStatus.identified, description="Usually identified; treating if already treated"
    )

    @model_validator(mode="after")
    def _opens(self) -> CaseCreate:
        if self.status not in (CaseStatus.identified, CaseStatus.treating):
            raise FieldsError("a case opens as identified or treating", "status")
        return self


class Transition(BaseModel):
    to: CaseStatus = Field(description="The next status")
    on: PolicyDate = Field(description="The date it took effect")
    note: str | None = Field(
        None, max_length=300, description="Why (required to close: death, other)"
    )
    referred_to: str | None = Field(
        None, min_length=1, max_length=100, description="转诊: the hospital (required)"
    )

    @model_validator(mode="after")
    def _required(self) -> Transition:
        if self.to == CaseStatus.closed and not (self.note or "").strip():
            raise FieldsError("closing a case needs a reason in note", "to", "note")
        if self.to == CaseStatus.referred and not self.referred_to:
            raise FieldsError("a referral needs referred_to (the hospital)", "to", "referred_to")
        return self


class TransitionOut(BaseModel):
    from_status: CaseStatus | None
    to: CaseStatus
    on: dt.date
    note: str | None = None
    by: str


class CaseOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    diagnosis_code: str
    disease_code: str = Field(description="The list's code the diagnosis falls under")
    disease_name: str
    diagnosed_on: dt.date
    designated_hospital: str
    referred_to: str | None
    status: CaseStatus
    under_treatment: bool = Field(description="Being treated now: treating or referred")
    treatment_started_on: dt.date | None
    closed_reason: str | None
    transitions: list[TransitionOut]


class CareRow(BaseModel):
    disease_code: str
    disease_name: str
    identified: int = Field(description="Cases diagnosed in the year (识别)")
    treated: int = Field(description="Of them, reached treatment (救治)")
    completed: int = Field(description="Of them, status treated (已救治)")


class CareReport(BaseModel):
    region_code: str
    year: int
    identified: int = Field(description="Cases diagnosed in the year in the region")
    treated: int = Field(
        description="救治: cases that reached treatment (treating, referred or treated, "
        "or closed after that)"
    )
    completed: int = Field(description="Cases with status treated")
    open: int = Field(description="Cases still open")
    care_rate: float | None = Field(description="救治率 = treated / identified")
    diseases: list[CareRow]
