"""Report schemas: settlements by payer, and the check of a reported total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from contracts.money import MoneyTotal
from contracts.reconcile import ReportedPart, Unit


class PayerTotals(BaseModel):
    bmi: MoneyTotal = Field(description="基本医疗保险 (元)")
    cii: MoneyTotal = Field(description="大病保险 (元)")
    ma: MoneyTotal = Field(description="医疗救助 (元)")
    supplementary: MoneyTotal = Field(description="补充保险 (元)")
    county_fund: MoneyTotal = Field(description="县级兜底资金 (元)")
    personal: MoneyTotal = Field(description="个人自付 (元)")


class SettlementRow(BaseModel):
    region_code: str
    settlements: int = Field(description="一站式结算 人次 (settlements in force)")
    patients: int = Field(description="人数: distinct patients")
    total: MoneyTotal = Field(description="医疗总费用 (元)")
    total_wan: Decimal = Field(description="医疗总费用 (万元, exact)")
    compliant: MoneyTotal = Field(description="合规费用 (元)")
    payers: PayerTotals
    payers_wan: dict[str, Decimal] = Field(description="The same by payer, in 万元 (exact)")
    compliant_personal_share: Decimal | None = Field(
        description="Average personal share of the compliant cost: Σ 合规自付 ÷ Σ 合规费用 (4 places)"
    )


class Check(BaseModel):
    name: str
    adds_up: bool
    detail: str


class SettlementReport(BaseModel):
    region_code: str
    date_from: dt.date
    date_to: dt.date
    total: SettlementRow
    regions: list[SettlementRow] = Field(description="One row per region one level down")
    special_treatment_patients: int = Field(
        description="大病专项救治: patients whose case began treatment in the period"
    )
    checks: list[Check] = Field(
        description="Every total recomputed from its parts: the regions' rows sum to the "
        "total, and the payers sum to the cost"
    )


class ReportedTotal(BaseModel):
    """A figure from a report (a 总结, a 台账) and the parts it claims to be made of."""

    stated: Decimal = Field(ge=0, max_digits=20, decimal_places=6, description="The stated total")
    unit: Unit = Field(Unit.yuan, description="Unit of the stated total")
    parts: list[ReportedPart] = Field(min_length=1, max_length=1000)
