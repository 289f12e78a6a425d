"""Shared value types: resident ID numbers, region codes, money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.dates import school_year
from contracts.money import Money, NonNegativeMoney, quantize
from contracts.region import (
    RegionCode,
    is_within,
    parent_codes,
    region_level,
    region_prefix,
    subject_tokens,
)
from contracts.resident_id import (
    ResidentId,
    check_digit,
    compose,
    gender,
    mask,
    validate_resident_id,
)


class Person(BaseModel):
    id_number: ResidentId


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "110101199003071233", "11010519491231002x"]
)
def test_domain_fixtures_valid(number):
    assert Person(id_number=number).id_number == number.upper()


@pytest.mark.parametrize(
    "number, reason",
    [
        ("110101199003071234", "check digit"),
        ("110101900307123", "18 characters"),  # 15-digit legacy
        ("1101051949133100" + "2" + check_digit("11010519491331002"), "birth date"),  # month 13
        ("1101051949123100", "18 characters"),
    ],
)
def test_invalid_numbers_say_why(number, reason):
    with pytest.raises(ValueError, match=reason):
        validate_resident_id(number)


def test_future_birth_date_rejected():
    number = compose("622924", dt.date(2030, 1, 1), 11)
    with pytest.raises(ValueError, match="future"):
        validate_resident_id(number, today=dt.date(2026, 1, 1))
    assert validate_resident_id(number, today=dt.date(2031, 1, 1)) == number


@given(
    born=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_composed_numbers_validate_and_encode_gender(born, sequence):
    number = compose("622924", born, sequence)
    assert validate_resident_id(number) == number
    assert gender(number) == ("male" if sequence % 2 else "female")
    assert mask(number) == number[:4] + "*" * 13 + number[-1] == mask(mask(number))


@given(
    born=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_error_is_caught(born, sequence, position, delta):
    number = compose("622924", born, sequence)
    digit = (int(number[position]) + delta) % 10
    wrong = number[:position] + str(digit) + number[position + 1 :]
    with pytest.raises(ValueError):
        validate_resident_id(wrong)


class Place(BaseModel):
    code: RegionCode


@pytest.mark.parametrize(
    "code", ["62292410020", "6229241002011", "62292410020X", "002924100201", "620024100201", ""]
)
def test_bad_region_codes(code):
    with pytest.raises(ValidationError):
        Place(code=code)


def test_region_levels_and_ancestors():
    village = "622924100201"
    assert region_level(village) == "village" and region_level("622924000000") == "county"
    assert parent_codes(village) == ["620000000000", "622900000000", "622924000000", "622924100000"]
    assert region_prefix("622924100000") == "622924100"
    assert is_within(village, "622924000000") and not is_within(village, "622924101000")
    assert subject_tokens(village) == ["62", "29", "24", "100", "201"]


class Amount(BaseModel):
    value: Money
    income: NonNegativeMoney | None = None


def test_money_is_exact_with_two_places():
    assert Amount(value="115477.5").value == Decimal("115477.50")
    assert quantize(Decimal("98.605")) == Decimal("98.61")  # half-up, not banker's
    for bad in ["1.005", "NaN", "Infinity", "1e20"]:
        with pytest.raises(ValidationError):
            Amount(value=bad)
    with pytest.raises(ValidationError):
        Amount(value="1", income="-0.01")


@given(
    st.decimals(
        min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
    )
)
def test_money_round_trips(value):
    assert Amount(value=value).value == value


def test_labels_of_enums_sharing_a_value_stay_apart():
    from contracts.enums import LABELS, LabourCapacity, MonitoringCategory

    assert LABELS[MonitoringCategory.none] == "无"
    assert LABELS[LabourCapacity.none] == "无劳动能力"
    assert "none" not in LABELS  # a plain string is not a member


def test_a_member_is_labelled_once():
    from contracts.enums import LABELS, LabourCapacity

    with pytest.raises(ValueError, match="already has a label"):
        LABELS.add([(LabourCapacity.none, "丧失劳动能力")])
    assert LABELS[LabourCapacity.none] == "无劳动能力"


def _total(number: str) -> None:
    """validate_resident_id either returns the number or raises ValueError, nothing else."""
    try:
        assert validate_resident_id(number) == number.strip().upper()
    except ValueError as exc:
        assert str(exc).startswith("invalid resident ID number: ")


@given(st.text(alphabet="0123456789", min_size=18, max_size=18))
def test_the_validator_is_total_on_any_18_digits(number):
    _total(number)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_validator_is_total_when_the_check_digit_is_right(first17):
    # The check digit right, every number reaches the address lookup (where stdnum raised
    # KeyError for a prefecture's code).
    _total(first17 + check_digit(first17))


@given(st.text(max_size=40))
def test_the_validator_is_total_on_any_text(value):
    _total(value)


@pytest.mark.parametrize("prefecture", ["622902", "622950", "622999"])
def test_a_prefecture_code_is_a_clear_error(prefecture):
    number = compose(prefecture, dt.date(1980, 1, 1), 17)
    with pytest.raises(ValueError, match="address code"):
        validate_resident_id(number)


def test_a_school_year_is_named_by_the_year_it_begins():
    assert school_year(dt.date(2026, 8, 31)) == 2025
    assert school_year(dt.date(2026, 9, 1)) == 2026
    assert school_year(dt.date(2027, 3, 1)) == 2026
