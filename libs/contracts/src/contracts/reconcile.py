"""Checking a reported total against its parts (DOMAIN §0, §11).

Reports copied from paper often do not add up ("2346.37万" stated for parts of 5223.43万
and 104.78万; "474万余" for 49498 sessions at 100元). A total is never stored as truth: it is
computed from records, and a figure someone reports is checked against the sum of its parts
here, exactly (万元 and 亿元 convert to 元 without rounding).

:class:`ReportedPart` and :class:`ReconciliationOut` are the API's shapes of a part and of
the answer, for every service that checks a reported total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from contracts.validation import FieldsError


class Unit(StrEnum):
    yuan = "yuan"  # 元
    wan = "wan"  # 万元 (×10⁴)
    yi = "yi"  # 亿元 (×10⁸)


UNIT_FACTOR = {Unit.yuan: Decimal(1), Unit.wan: Decimal(10_000), Unit.yi: Decimal(100_000_000)}
UNIT_LABELS = {Unit.yuan: "元", Unit.wan: "万元", Unit.yi: "亿元"}


def to_yuan(amount: Decimal, unit: Unit) -> Decimal:
    """An amount in ``unit`` as 元, exactly (Decimal multiplication by a power of ten)."""
    return amount * UNIT_FACTOR[unit]


@dataclass(frozen=True)
class Part:
    """One part of a total: an amount, or a count at a rate (49498 sessions × 100元), in
    ``unit``."""

    amount: Decimal | None = None
    count: int | None = None
    rate: Decimal | None = None
    unit: Unit = Unit.yuan

    def __post_init__(self) -> None:
        by_amount = self.amount is not None
        by_rate = self.count is not None and self.rate is not None
        if by_amount == by_rate:
            raise ValueError("a part is either an amount, or a count and a rate")

    def yuan(self) -> Decimal:
        value = self.amount if self.amount is not None else self.count * self.rate  # type: ignore[operator]
        return to_yuan(value, self.unit)


@dataclass(frozen=True)
class Reconciliation:
    unit: Unit  # of the figures below: the stated total's
    stated: Decimal  # the reported total
    computed: Decimal  # the sum of its parts
    difference: Decimal  # computed − stated
    adds_up: bool


def reconcile(
    stated: Decimal, unit: Unit, parts: Sequence[Part], tolerance: Decimal = Decimal(0)
) -> Reconciliation:
    """Does ``stated`` (in ``unit``) equal the sum of ``parts`` (within ``tolerance``)?"""
    if not parts:
        raise ValueError("a total needs at least one part")
    with localcontext() as context:
        context.prec = 60  # exact for any sum of 14-digit amounts and conversions
        computed = sum((part.yuan() for part in parts), Decimal(0)) / UNIT_FACTOR[unit]
        difference = computed - stated
    return Reconciliation(
        unit=unit,
        stated=stated,
        computed=computed,
        difference=difference,
        adds_up=abs(difference) <= tolerance,
    )


class ReportedPart(BaseModel):
    """A part of a reported total as a caller gives it: an amount, or a count at a rate."""

    label: str | None = Field(None, max_length=100, description="What the part is")
    amount: Decimal | None = Field(None, ge=0, max_digits=20, decimal_places=6)
    count: int | None = Field(None, ge=0, description="A count at a rate (人次 × 标准)")
    rate: Decimal | None = Field(None, ge=0, max_digits=20, decimal_places=6)
    unit: Unit = Field(Unit.yuan, description="yuan (元), wan (万元) or yi (亿元)")

    @model_validator(mode="after")
    def _amount_or_count_and_rate(self) -> ReportedPart:
        if (self.amount is None) == (self.count is None or self.rate is None):
            raise FieldsError("give either amount, or count and rate", "amount", "count", "rate")
        return self

    def part(self) -> Part:
        return Part(amount=self.amount, count=self.count, rate=self.rate, unit=self.unit)


class ReconciliationOut(BaseModel):
    unit: Unit
    stated: Decimal
    computed: Decimal = Field(description="The sum of the parts, in the stated unit")
    difference: Decimal = Field(description="computed − stated")
    adds_up: bool

    @classmethod
    def of(cls, result: Reconciliation) -> ReconciliationOut:
        return cls(**result.__dict__)
