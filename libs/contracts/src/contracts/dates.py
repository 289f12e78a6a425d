"""The dates and years the services accept, one definition for requests and events.

A fact counts in a 政策年度 between 2000 and 2100 (the events' ``policy_year``); a request
date outside it passed the request schema and then failed while the event was built (a
500). Request schemas and event payloads use the same types, so what a request may carry
is what an event can hold. A birth date is older: 1900 on, not in the future. Dates are
written ``YYYY-MM-DD``: a number (``0``, which pydantic reads as a Unix time) is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

FIRST_POLICY_YEAR = 2000
LAST_POLICY_YEAR = 2100
FIRST_POLICY_DATE = dt.date(FIRST_POLICY_YEAR, 1, 1)
LAST_POLICY_DATE = dt.date(LAST_POLICY_YEAR, 12, 31)
FIRST_BIRTH_DATE = dt.date(1900, 1, 1)

PolicyYear = Annotated[
    int,
    Field(ge=FIRST_POLICY_YEAR, le=LAST_POLICY_YEAR, description="政策年度, 2000–2100"),
]


def _written_as_a_date(value: object) -> object:
    if isinstance(value, int | float):
        raise ValueError("a date is written YYYY-MM-DD, not as a number")
    return value


def _in_policy_years(value: dt.date) -> dt.date:
    if not FIRST_POLICY_DATE <= value <= LAST_POLICY_DATE:
        raise ValueError(
            f"must be between {FIRST_POLICY_DATE} and {LAST_POLICY_DATE} (the policy years)"
        )
    return value


def _born_plausibly(value: dt.date) -> dt.date:
    if value < FIRST_BIRTH_DATE:
        raise ValueError(f"a birth date must be {FIRST_BIRTH_DATE} or later")
    if value > dt.date.today():
        raise ValueError("birth date is in the future")
    return value


PolicyDate = Annotated[
    dt.date,
    BeforeValidator(_written_as_a_date),
    AfterValidator(_in_policy_years),
    Field(description="YYYY-MM-DD, in the policy years 2000–2100"),
]

BirthDate = Annotated[
    dt.date,
    BeforeValidator(_written_as_a_date),
    AfterValidator(_born_plausibly),
    Field(description="YYYY-MM-DD, from 1900 on, not in the future"),
]


#: The first day (month, day) of a school year (学年): its autumn term begins in September.
SCHOOL_YEAR_STARTS = (9, 1)


def school_year(on: dt.date) -> int:
    """The school year (学年) ``on`` falls in, named by the year it begins: 2026 from
    1 September 2026 to 31 August 2027."""
    return on.year if (on.month, on.day) >= SCHOOL_YEAR_STARTS else on.year - 1
