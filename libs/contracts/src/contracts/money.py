"""Money: exact decimal yuan with 2 places (NUMERIC(14,2) in PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # fits NUMERIC(14,2)
#: The most one entered amount may be (a bill line, an income item, a fee): 1亿元. Sums of
#: such amounts (a claim's total, a person's year ledger) are stored in the same
#: NUMERIC(14,2) as each part, so a part may not be as large as the column: every sum is
#: bounded again with :func:`checked_total`.
MAX_ENTERED_AMOUNT = Decimal("100000000.00")


def quantize(amount: Decimal) -> Decimal:
    """Round half-up to the cent (DOMAIN §1.4)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value != value.quantize(CENT):
        raise ValueError("amount must have at most 2 decimal places (yuan and fen)")
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    Field(
        max_digits=14,
        decimal_places=2,
        le=MAX_AMOUNT,
        ge=-MAX_AMOUNT,
        description="元, 2 decimal places",
    ),
    AfterValidator(_two_places),
]

NonNegativeMoney = Annotated[
    Decimal,
    Field(
        max_digits=14,
        decimal_places=2,
        ge=0,
        le=MAX_AMOUNT,
        description="元, 2 decimal places, ≥ 0",
    ),
    AfterValidator(_two_places),
]

EnteredMoney = Annotated[
    Decimal,
    Field(
        max_digits=14,
        decimal_places=2,
        ge=0,
        le=MAX_ENTERED_AMOUNT,
        description="元, 2 decimal places, 0 to 100,000,000",
    ),
    AfterValidator(_two_places),
]
"""An amount a person enters (a bill line, an income item): ≥ 0, at most 1亿元."""


class TotalTooLarge(ValueError):
    """A sum of amounts that cannot be stored."""


def checked_total(amounts: Iterable[Decimal], what: str, limit: Decimal = MAX_AMOUNT) -> Decimal:
    """The sum of ``amounts``, or :class:`TotalTooLarge` (a ValueError, so a validator's
    422) naming ``what`` when it passes ``limit`` (by default what NUMERIC(14,2) holds)."""
    total = sum(amounts, Decimal(0))
    if total > limit:
        raise TotalTooLarge(f"{what} would be {total} 元, more than the {limit} 元 allowed")
    return total


MoneyTotal = Annotated[
    Decimal,
    Field(ge=0, decimal_places=2, description="元, 2 decimal places: a sum over many records"),
]
"""A report's sum over many records (a region's settlements): computed, never stored in
one NUMERIC(14,2), so not bounded by it (an answer must not fail on a large county)."""
