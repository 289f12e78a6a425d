"""Events of the low-income guarantee service (低保 / 特困 / 临时救助, DOMAIN §6) that the
registry monitors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.enums import ReliefCause, describe
from contracts.events.common import HouseholdRef, department_event
from contracts.money import NonNegativeMoney


class ReliefPaid(HouseholdRef):
    """临时救助 paid for 突发性、紧迫性、临时性 hardship."""

    relief_id: uuid.UUID = Field(description="The low-income service's payment id (subject)")
    cause: ReliefCause = Field(description=describe(ReliefCause))
    amount: NonNegativeMoney = Field(description="救助金额")
    paid_on: dt.date


RELIEF_PAID = department_event(
    "low_income.relief.paid",
    ReliefPaid,
    "relief",
    "Temporary relief (临时救助) was paid; cause `disaster` means 突发灾祸.",
)

EVENTS = [RELIEF_PAID]
