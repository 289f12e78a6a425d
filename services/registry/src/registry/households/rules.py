"""Pure household rules (no I/O): each invariant is written here once, and both the request
schema (a 422 naming the field) and the service (its Problem) call it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from contracts.enums import PovertyState, Relation
from contracts.money import quantize
from contracts.validation import FieldsError

#: States a household may be entered in without the identification workflow: intake.
INTAKE_STATES = frozenset({PovertyState.candidate, PovertyState.applied})


class RuleViolation(FieldsError):
    """A rule failed; ``fields`` name the inputs it is about (``field``: the first). Raised in
    a schema's validator it is those fields' 422 (a :class:`FieldsError`); a service turns it
    into its Problem."""

    @property
    def field(self) -> str | None:
        return self.fields[0] if self.fields else None


class Survey(Protocol):
    """What the rules read of a survey (入户调查), as the API's ``SurveyData`` carries it."""

    @property
    def survey_year(self) -> int: ...
    @property
    def income_items(self) -> Mapping[Any, Decimal]: ...
    @property
    def per_capita_net_income(self) -> Decimal | None: ...
    @property
    def food_clothing_secure(self) -> bool | None: ...
    @property
    def safe_drinking_water(self) -> bool | None: ...
    @property
    def has_electricity(self) -> bool | None: ...
    @property
    def has_radio_tv(self) -> bool | None: ...
    @property
    def assets(self) -> Iterable[Any]: ...
    @property
    def land_area_mu(self) -> Decimal | None: ...


def check_one_head(relations: Iterable[str]) -> None:
    """A household has exactly one head (户主) among its members' relations."""
    heads = sum(1 for relation in relations if relation == Relation.head)
    if heads != 1:
        raise RuleViolation(f"a household has exactly one head (户主); got {heads}", "members")


def check_primary_cause(causes: Collection[str], primary: str) -> None:
    """主要致贫原因 is one of the household's 致贫原因."""
    if primary not in causes:
        raise RuleViolation("primary_cause must be one of causes", "primary_cause")


def check_entry_evidence(state: PovertyState, evidence: Collection[Any]) -> None:
    """A new case starts as candidate or applied; a household entered in a later state
    (存量档案录入) brings the existing file as evidence."""
    if state not in INTAKE_STATES and not evidence:
        raise RuleViolation(
            f"entering a household as {state.value} needs evidence "
            "(the existing file); new cases start as candidate or applied",
            "poverty_state",
            "evidence",
        )


def per_capita(income: Iterable[Decimal], persons: int) -> Decimal:
    """人均纯收入 of income items: their total ÷ persons, half-up to the fen."""
    return quantize(sum(income, Decimal(0)) / max(persons, 1))


def per_capita_net_income(survey: Survey, persons: int) -> Decimal | None:
    """人均纯收入: the household's income items ÷ persons, half-up to the fen.

    Without items the surveyed figure stands as given; with both they must agree."""
    if not survey.income_items:
        return survey.per_capita_net_income
    computed = per_capita(survey.income_items.values(), persons)
    given = survey.per_capita_net_income
    if given is not None and given != computed:
        raise RuleViolation(
            f"per_capita_net_income {given} does not equal the income items ÷ {persons} persons "
            f"= {computed}; omit it to have it computed",
            "survey.per_capita_net_income",
        )
    return computed


def survey_columns(survey: Survey, persons: int) -> dict:
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
