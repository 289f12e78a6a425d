"""门诊慢性病证明 (chronic-disease certificate) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from contracts.dates import PolicyDate
from contracts.text import non_blank
from contracts.validation import FieldsError
from health.critical.schemas import IcdCode


class CertificateCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Registry member id (户成员)")
    disease_code: IcdCode = Field(description="ICD-10 code (prefix): I10 covers I10.x")
    disease_name: str = Field(min_length=1, max_length=100, description="慢性病名称")
    issued_on: PolicyDate = Field(description="发证日期")
    valid_until: PolicyDate = Field(description="有效期至 (inclusive)")
    issuer: str = Field(min_length=1, max_length=100, description="发证机构 (鉴定医院)")

    @model_validator(mode="after")
    def _dates_in_order(self) -> CertificateCreate:
        if self.valid_until < self.issued_on:
            raise FieldsError("valid_until is before issued_on", "issued_on", "valid_until")
        return self


class CertificateRevocation(BaseModel):
    reason: Annotated[str, non_blank(300)] = Field(description="撤销 reason")


class CertificateOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    disease_code: str
    disease_name: str
    issued_on: dt.date
    valid_until: dt.date
    issuer: str
    status: str = Field(description="active | revoked")
    revoked_on: dt.date | None
    revocation_reason: str | None
