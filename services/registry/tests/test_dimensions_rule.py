"""The registry's dimension rule (一超、两不愁 and safe water): examples and properties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.status import Dimension, DimensionState, Reason
from kit.policy import Overrides
from registry.households.dimensions import REGISTRY_DIMENSIONS, registry_dimensions

LINE = Decimal("3322.00")
RECORDED = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def decide(**survey):
    values = dict(
        survey_year=2025,
        per_capita_net_income=Decimal("5000.00"),
        food_clothing_secure=True,
        safe_drinking_water=True,
        poverty_line=LINE,
        policy_year=2026,
        as_of=RECORDED,
    )
    values.update(survey)
    return registry_dimensions(**values)


def states(facts) -> dict:
    return {d.value: (f.status.value, f.reason) for d, f in facts.items()}


def test_a_current_survey_above_the_line_with_food_and_water_is_all_ok():
    facts = decide()
    assert states(facts) == {d.value: ("ok", None) for d in REGISTRY_DIMENSIONS}
    assert all(f.as_of == RECORDED for f in facts.values())


def test_income_exactly_on_the_line_is_not_ok():
    facts = decide(per_capita_net_income=LINE)
    assert states(facts)["income"] == ("not_ok", Reason.INCOME_BELOW_LINE)
    assert states(decide(per_capita_net_income=LINE + Decimal("0.01")))["income"] == ("ok", None)


def test_insecure_food_and_unsafe_water_are_not_ok_with_their_reasons():
    facts = states(decide(food_clothing_secure=False, safe_drinking_water=False))
    assert facts["food_clothing"] == ("not_ok", Reason.FOOD_CLOTHING_INSECURE)
    assert facts["water"] == ("not_ok", Reason.UNSAFE_WATER)
    assert facts["income"] == ("ok", None)


def test_an_indicator_the_survey_left_out_is_unknown():
    facts = states(
        decide(per_capita_net_income=None, food_clothing_secure=None, safe_drinking_water=None)
    )
    assert facts == {d.value: ("unknown", Reason.NOT_SURVEYED) for d in REGISTRY_DIMENSIONS}


def test_without_a_survey_everything_is_unknown_no_survey():
    facts = decide(
        survey_year=None,
        per_capita_net_income=None,
        food_clothing_secure=None,
        safe_drinking_water=None,
        poverty_line=None,
        as_of=None,
    )
    assert states(facts) == {d.value: ("unknown", Reason.NO_SURVEY) for d in REGISTRY_DIMENSIONS}


@pytest.mark.parametrize(("survey_year", "current"), [(2026, True), (2025, True), (2024, False)])
def test_a_survey_older_than_last_year_is_out_of_date(survey_year, current):
    facts = decide(survey_year=survey_year, per_capita_net_income=Decimal(1))
    income = facts[Dimension.income]
    if current:
        assert income.status == DimensionState.not_ok
    else:
        assert {(f.status, f.reason) for f in facts.values()} == {
            (DimensionState.unknown, Reason.SURVEY_OUT_OF_DATE)
        }
        assert income.as_of == RECORDED  # the survey's time, so the reader sees how old


money = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)
maybe_bool = st.none() | st.booleans()


@given(
    income=money,
    line=money,
    food=maybe_bool,
    water=maybe_bool,
    survey_year=st.integers(2000, 2100),
    policy_year=st.integers(2000, 2100),
)
def test_the_rule_for_any_survey(income, line, food, water, survey_year, policy_year):
    facts = decide(
        survey_year=survey_year,
        per_capita_net_income=income,
        food_clothing_secure=food,
        safe_drinking_water=water,
        poverty_line=line,
        policy_year=policy_year,
    )
    assert set(facts) == set(REGISTRY_DIMENSIONS)
    for fact in facts.values():
        # ok never carries a reason, anything else always does
        assert (fact.reason is None) == (fact.status == DimensionState.ok)
    if survey_year < policy_year - 1:
        assert all(f.status == DimensionState.unknown for f in facts.values())
        return
    assert (facts[Dimension.income].status == DimensionState.ok) == (income > line)
    for dimension, value in ((Dimension.food_clothing, food), (Dimension.water, water)):
        expected = {None: DimensionState.unknown, True: DimensionState.ok}.get(
            value, DimensionState.not_ok
        )
        assert facts[dimension].status == expected


@given(income=money, raise_by=money.filter(lambda d: d > 0))
def test_a_higher_line_never_turns_not_ok_into_ok(income, raise_by):
    low = decide(per_capita_net_income=income, poverty_line=LINE)[Dimension.income]
    high = decide(per_capita_net_income=income, poverty_line=LINE + raise_by)[Dimension.income]
    if low.status == DimensionState.not_ok:
        assert high.status == DimensionState.not_ok


def test_overrides_resolve_like_the_policy_book():
    """Most specific region prefix first, then the latest year not after the one asked."""
    overrides = Overrides(
        default=LINE,
        rows=(
            ("62", 2020, Decimal("3500")),
            ("62", 2024, Decimal("3600")),
            ("622924", 2022, Decimal("4000")),
            ("622924100201", 2026, Decimal("4200")),
        ),
    )
    assert overrides.value("110101001001", 2025) == LINE  # no override for Beijing
    assert overrides.value("622701001001", 2019) == LINE  # before the first year
    assert overrides.value("622701001001", 2023) == Decimal("3500")
    assert overrides.value("622701001001", 2025) == Decimal("3600")
    assert overrides.value("622924100202", 2025) == Decimal("4000")  # the county's wins
    assert overrides.value("622924100201", 2025) == Decimal("4000")
    assert overrides.value("622924100201", 2026) == Decimal("4200")
