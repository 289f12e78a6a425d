"""The household invariants, each written once in registry.households.rules: the request
schema and the service both call them, so both refuse the same households."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.enums import PovertyCause, PovertyState, Relation
from contracts.validation import FieldsError
from registry.households import rules
from registry.households.schemas import HouseholdCreate, HouseholdUpdate, SurveyData


def test_exactly_one_head():
    rules.check_one_head([Relation.head, Relation.spouse, "child"])
    for relations in ([], ["spouse"], [Relation.head, "head"]):
        with pytest.raises(rules.RuleViolation) as refused:
            rules.check_one_head(relations)
        assert refused.value.field == "members"
        assert f"got {sum(r == 'head' for r in relations)}" in str(refused.value)


def test_primary_cause_among_the_causes():
    rules.check_primary_cause(["illness", "disability"], PovertyCause.disability)
    with pytest.raises(rules.RuleViolation) as refused:
        rules.check_primary_cause([PovertyCause.illness], "disability")
    assert refused.value.field == "primary_cause"


def test_a_violation_is_a_field_error():
    """Raised in a validator, the rule's refusal names its field (kit reads ``fields``)."""
    violation = rules.RuleViolation("no", "survey.per_capita_net_income")
    assert isinstance(violation, FieldsError)
    assert violation.fields == ("survey.per_capita_net_income",)
    assert rules.RuleViolation("no").fields == ()


def _household(**changes):
    member = {"name": "马建国", "gender": "male", "birth_date": "1980-01-01", "relation": "head"}
    body = {
        "region_code": "622924101001",
        "causes": ["illness"],
        "primary_cause": "illness",
        "members": [member],
        **changes,
    }
    return HouseholdCreate.model_validate(body)


def test_the_schemas_call_the_rules():
    _household()
    with pytest.raises(ValidationError, match=r"exactly one head \(户主\); got 0"):
        _household(
            members=[
                {"name": "马", "gender": "female", "birth_date": "1982-02-02", "relation": "spouse"}
            ]
        )
    with pytest.raises(ValidationError, match="primary_cause must be one of causes") as refused:
        _household(primary_cause="disability")
    assert refused.value.errors()[0]["ctx"]["error"].fields == ("primary_cause",)
    with pytest.raises(ValidationError, match="primary_cause must be one of causes"):
        HouseholdUpdate(causes=["illness"], primary_cause="disability")
    HouseholdUpdate(primary_cause="disability")  # the recorded causes are the service's to check


def test_per_capita_income():
    assert rules.per_capita([Decimal("1000"), Decimal("1")], 3) == Decimal("333.67")
    assert rules.per_capita([Decimal("10")], 0) == Decimal("10.00")  # nobody: the total
    survey = SurveyData(survey_year=2025, income_items={"wage": "1000.00"})
    assert rules.per_capita_net_income(survey, 4) == Decimal("250.00")
    stated = SurveyData(
        survey_year=2025, income_items={"wage": "1000.00"}, per_capita_net_income="300"
    )
    with pytest.raises(rules.RuleViolation) as refused:
        rules.per_capita_net_income(stated, 4)
    assert refused.value.field == "survey.per_capita_net_income"
    alone = SurveyData(survey_year=2025, per_capita_net_income="3000")
    assert rules.per_capita_net_income(alone, 4) == Decimal("3000")


def test_entered_beyond_intake_with_evidence():
    rules.check_entry_evidence(PovertyState.applied, [])
    rules.check_entry_evidence(PovertyState.registered, ["the existing file"])
    with pytest.raises(rules.RuleViolation) as refused:
        rules.check_entry_evidence(PovertyState.registered, [])
    assert refused.value.fields == ("poverty_state", "evidence")
    with pytest.raises(ValidationError, match="needs evidence"):
        _household(poverty_state="registered")
