"""Pure household rules (no I/O)."""

from __future__ import annotations

from decimal import Decimal

from contracts.money import quantize
from registry.households.schemas import SurveyData


class RuleViolation(ValueError):
    """A rule failed; ``field`` names the input it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def per_capita_net_income(survey: SurveyData, persons: int) -> Decimal | None:
    """人均纯收入: the household's income items ÷ persons, half-up to the fen.

    Without items the surveyed figure stands as given; with both they must agree."""
    if not survey.income_items:
        return survey.per_capita_net_income
    computed = quantize(sum(survey.income_items.values(), Decimal(0)) / max(persons, 1))
    given = survey.per_capita_net_income
    if given is not None and given != computed:
        raise RuleViolation(
            f"per_capita_net_income {given} does not equal the income items ÷ {persons} persons "
            f"= {computed}; omit it to have it computed",
            field="survey.per_capita_net_income",
        )
    return computed


def survey_columns(survey: SurveyData, persons: int) -> dict:
    """Household columns set by a survey."""
    return dict(
        survey_year=survey.survey_year,
        income_items={k.value: str(v) for k, v in survey.income_items.items()},
        per_capita_net_income=per_capita_net_income(survey, persons),
        food_clothing_secure=survey.food_clothing_secure,
        safe_drinking_water=survey.safe_drinking_water,
        has_electricity=survey.has_electricity,
        has_radio_tv=survey.has_radio_tv,
        assets=[a.value for a in survey.assets],
        land_area_mu=survey.land_area_mu,
    )
