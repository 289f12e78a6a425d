"""Money: exact decimal yuan with 2 places (NUMERIC(14,2) in PostgreSQL)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # fits NUMERIC(14,2)


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
