"""The registry's dimensions of a household (一超、两不愁 and safe water, DOMAIN §1.5, §8.1):
a pure rule over the latest survey and the poverty line in force. Events and the summary
endpoint both state them through :func:`registry_dimensions`, so they never disagree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contracts.status import Dimension, DimensionFact, DimensionState, Reason

#: The registry's dimensions, in the order they are stated.
REGISTRY_DIMENSIONS = (Dimension.income, Dimension.food_clothing, Dimension.water)


def survey_is_current(survey_year: int, policy_year: int) -> bool:
    """A survey of last year or this year counts; anything older is out of date (data
    older than 12 months is unknown, DOMAIN §8.1). The annual survey of year Y is done
    during Y or early Y+1, so last year's survey is still the current one."""
    return survey_year >= policy_year - 1


def registry_dimensions(
    *,
    survey_year: int | None,
    per_capita_net_income: Decimal | None,
    food_clothing_secure: bool | None,
    safe_drinking_water: bool | None,
    poverty_line: Decimal | None,
    policy_year: int,
    as_of: dt.datetime | None = None,
) -> dict[Dimension, DimensionFact]:
    """Income, food and clothing, and water of a household.

    ``poverty_line``: the line in force for the household's village in the survey year
    (None only without a survey). ``policy_year``: the current year (the service clock).
    ``as_of``: when the survey was recorded."""
    if survey_year is None:
        unknown = DimensionFact(status=DimensionState.unknown, reason=Reason.NO_SURVEY)
        return dict.fromkeys(REGISTRY_DIMENSIONS, unknown)
    if not survey_is_current(survey_year, policy_year):
        stale = DimensionFact(
            status=DimensionState.unknown, reason=Reason.SURVEY_OUT_OF_DATE, as_of=as_of
        )
        return dict.fromkeys(REGISTRY_DIMENSIONS, stale)
    if per_capita_net_income is None:
        income = _fact(None, Reason.INCOME_BELOW_LINE, as_of)
    else:
        if poverty_line is None:
            raise ValueError("a surveyed income needs the poverty line of its year")
        # 一超: the income must exceed the line; exactly on it is not enough
        income = _fact(per_capita_net_income > poverty_line, Reason.INCOME_BELOW_LINE, as_of)
    return {
        Dimension.income: income,
        Dimension.food_clothing: _fact(food_clothing_secure, Reason.FOOD_CLOTHING_INSECURE, as_of),
        Dimension.water: _fact(safe_drinking_water, Reason.UNSAFE_WATER, as_of),
    }


def _fact(met: bool | None, reason: Reason, as_of: dt.datetime | None) -> DimensionFact:
    if met is None:  # surveyed, but this indicator was not recorded
        return DimensionFact(status=DimensionState.unknown, reason=Reason.NOT_SURVEYED, as_of=as_of)
    if met:
        return DimensionFact(status=DimensionState.ok, as_of=as_of)
    return DimensionFact(status=DimensionState.not_ok, reason=reason, as_of=as_of)
