"""API schemas of screening (数据比对) and quality reports (贫困发生率, 错评/错退/漏评)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from contracts.enums import RegionLevel


class RedFlagKind(StrEnum):
    car_or_urban_house = "car_or_urban_house"  # 有车、有房
    above_income_line = "above_income_line"  # 收入超过扶贫标准
    duplicates = "duplicates"  # 重复人员


RED_FLAG_LABELS = {
    RedFlagKind.car_or_urban_house: "有车、有房 (小汽车 or 城镇商品房)",
    RedFlagKind.above_income_line: "人均纯收入超过扶贫标准",
    RedFlagKind.duplicates: "同一人员出现在两户 (same name and birth date)",
}


class RedFlag(BaseModel):
    """One registered household to check (数据比对): the reason in words."""

    household_id: uuid.UUID
    region_code: str
    village_name: str | None
    head_name: str | None
    kind: RedFlagKind
    reason: str


class IncidenceRow(BaseModel):
    """贫困发生率 of a village or township against the identification quota."""

    level: RegionLevel
    region_code: str
    name: str
    key_poor_village: bool | None = Field(description="重点贫困村 (villages only)")
    poor_households: int = Field(description="Households registered, planned_exit or returned")
    poor_persons: int = Field(description="Their members: the numerator")
    denominator: str = Field(description="`rural_population` or `total_population` (policy)")
    population: int | None = Field(description="The denominator; null when unknown")
    rate: Decimal | None = Field(description="poor_persons / population, 4 places, half-up")
    quota: Decimal = Field(
        description="Average incidence allowed (50% 重点贫困村, 5% others); for a township the "
        "population-weighted average of its villages' quotas"
    )
    above_quota: bool | None = Field(description="Exceeds the quota: a warning (DOMAIN §2.4)")
    reason: str | None = Field(None, description="Why the rate is null")


class IncidenceReport(BaseModel):
    region_code: str
    year: int = Field(description="Year the policy parameters are read for")
    townships: list[IncidenceRow]
    villages: list[IncidenceRow]


class QualityMetric(BaseModel):
    metric: str = Field(description="`wrong_inclusion` 错评, `wrong_exit` 错退, `omission` 漏评")
    label: str
    found: int = Field(description="Adjustments of the year that found an error")
    base: int = Field(
        description="Households checked: those in the group now plus those the findings moved "
        "out of it"
    )
    rate: Decimal | None = Field(description="found / base, 4 places; null when base is 0")
    limit: Decimal = Field(description="The rate must stay below this (policy)")
    within_limit: bool | None


class HouseholdCounts(BaseModel):
    registered: int = Field(description="registered, planned_exit, returned")
    exited: int = Field(description="exited, exited_monitored")
    non_registered: int = Field(description="every other state (candidates, rejected, removed …)")


class QualityReport(BaseModel):
    region_code: str
    year: int
    households: HouseholdCounts
    metrics: list[QualityMetric]
