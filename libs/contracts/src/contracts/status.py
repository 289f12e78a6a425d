"""The household status dimensions (两不愁三保障 + safe water, DOMAIN §1.5, §8.1).

Shared by the services that *decide* a dimension (its owner: the registry for income,
food and clothing and water; education, health and housing for theirs) and the gateway
that gathers them into one status document. Each owner states a dimension as a
:class:`DimensionFact`, in its events and in its summary endpoint
``GET /households/{household_id}/summary`` (a :class:`HouseholdSummary`), which the
gateway's fresh mode asks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Dimension(StrEnum):
    """两不愁三保障 and safe water: what a household needs before it may exit."""

    income = "income"  # 一超: per-capita net income above the poverty line
    food_clothing = "food_clothing"  # 不愁吃穿
    water = "water"  # 饮水安全
    education = "education"  # 义务教育有保障
    medical = "medical"  # 基本医疗有保障
    housing = "housing"  # 住房安全有保障


class DimensionState(StrEnum):
    ok = "ok"
    not_ok = "not_ok"
    unknown = "unknown"  # no data, data out of date, or the owner did not answer


#: The service whose facts decide each dimension.
OWNER: dict[Dimension, str] = {
    Dimension.income: "registry",
    Dimension.food_clothing: "registry",
    Dimension.water: "registry",
    Dimension.education: "education",
    Dimension.medical: "health",
    Dimension.housing: "housing",
}

DIMENSION_LABELS: dict[Dimension, str] = {
    Dimension.income: "收入超过贫困线 (一超)",
    Dimension.food_clothing: "不愁吃、不愁穿",
    Dimension.water: "饮水安全",
    Dimension.education: "义务教育有保障",
    Dimension.medical: "基本医疗有保障",
    Dimension.housing: "住房安全有保障",
}


def owned_by(service: str) -> list[Dimension]:
    return [d for d in Dimension if OWNER[d] == service]


class Reason(StrEnum):
    """Why a dimension is not ok or unknown (machine-readable; the words are REASON_TEXT)."""

    NO_DATA_YET = "NO_DATA_YET"
    NO_SURVEY = "NO_SURVEY"
    SURVEY_OUT_OF_DATE = "SURVEY_OUT_OF_DATE"
    NOT_SURVEYED = "NOT_SURVEYED"
    INCOME_BELOW_LINE = "INCOME_BELOW_LINE"
    FOOD_CLOTHING_INSECURE = "FOOD_CLOTHING_INSECURE"
    UNSAFE_WATER = "UNSAFE_WATER"
    DROPOUT = "DROPOUT"
    OUT_OF_SCHOOL = "OUT_OF_SCHOOL"
    NO_STUDENT_RECORD = "NO_STUDENT_RECORD"
    HOUSE_GRADE_C = "HOUSE_GRADE_C"
    HOUSE_GRADE_D = "HOUSE_GRADE_D"
    NOT_INSURED = "NOT_INSURED"
    CRITICAL_ILLNESS_UNTREATED = "CRITICAL_ILLNESS_UNTREATED"
    CHRONIC_WITHOUT_FAMILY_DOCTOR = "CHRONIC_WITHOUT_FAMILY_DOCTOR"
    SOURCE_NOT_DEPLOYED = "SOURCE_NOT_DEPLOYED"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"


REASON_TEXT: dict[str, str] = {
    Reason.NO_DATA_YET: "no data yet: no event from the owning service has reached the gateway",
    Reason.NO_SURVEY: "no annual survey (入户调查) recorded for the household",
    Reason.SURVEY_OUT_OF_DATE: "the latest survey is more than a year old (数据过期)",
    Reason.NOT_SURVEYED: "the survey did not record this indicator",
    Reason.INCOME_BELOW_LINE: "人均纯收入未超过贫困线 (per-capita net income not above the line)",
    Reason.FOOD_CLOTHING_INSECURE: "吃穿不愁 not met (余粮、衣物)",
    Reason.UNSAFE_WATER: "饮水不安全 (水量、水质、方便程度、保证率)",
    Reason.DROPOUT: "a compulsory-age child has dropped out of school (辍学)",
    Reason.OUT_OF_SCHOOL: "a compulsory-age child is not enrolled and has no evidenced "
    "alternative (送教上门、远程教育、特殊学校)",
    Reason.NO_STUDENT_RECORD: "a compulsory-age child has no matched 学籍 (student record)",
    Reason.HOUSE_GRADE_C: "the house is appraised C (局部危房)",
    Reason.HOUSE_GRADE_D: "the house is appraised D (整栋危房)",
    Reason.NOT_INSURED: "a member is not insured this year (未参加基本医疗保险)",
    Reason.CRITICAL_ILLNESS_UNTREATED: "a critical illness (大病) is identified but not under "
    "treatment (专项救治)",
    Reason.CHRONIC_WITHOUT_FAMILY_DOCTOR: "a chronic illness (慢性病) without a family doctor "
    "contract (家庭医生签约)",
    Reason.SOURCE_NOT_DEPLOYED: "the owning service is not deployed in this county yet",
    Reason.SOURCE_UNAVAILABLE: "the owning service did not answer in time",
}


class DimensionFact(BaseModel):
    """One dimension as its owner states it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: DimensionState
    reason: str | None = Field(None, description="Reason code when not ok (see REASON_TEXT)")
    detail: str | None = Field(
        None, max_length=300, description="What is missing, in words (counts, never names)"
    )
    as_of: dt.datetime | None = Field(None, description="When the owner's data was last true")


class HouseholdSummary(BaseModel):
    """What an owning service answers at ``GET /households/{id}/summary`` (scope
    ``status:read``, the caller's region applies): its dimensions now, plus facts the
    gateway may show (the registry's poverty state, assistance type …)."""

    model_config = ConfigDict(extra="ignore")

    service: str
    household_id: uuid.UUID
    region_code: str
    as_of: dt.datetime = Field(description="When the service answered")
    dimensions: dict[Dimension, DimensionFact] = Field(
        default_factory=dict, description="The dimensions this service owns"
    )
    facts: dict[str, Any] = Field(default_factory=dict, description="Other current facts")
