"""Education's pure rules (DOMAIN §3): compulsory age at its boundaries, the 义务教育有保障
dimension, aid standards, refusals (不随意提标扩面), stacking, entitlements, and the
reconciliation of fixture #1 (DOMAIN §11)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.enums import AidProgramme, EnrolmentStatus, SchoolStage
from contracts.reconcile import Part, Unit, reconcile
from contracts.status import DimensionState, Reason
from education import errors
from education.compulsory import (
    Child,
    age_on,
    education_fact,
    is_compulsory_age,
    term_start,
)
from education.grants import (
    AmountRange,
    Granted,
    ReportLine,
    Student,
    check_grant,
    check_reported_total,
    entitlements,
    ineligibility,
    missing_entitlements,
    standard,
)
from education.policy import DEFAULT_AID_POLICY, DEFAULT_COMPULSORY_AGES, PARAMETERS, policy
from kit.problems import Problem

D = Decimal
AGES = DEFAULT_COMPULSORY_AGES
AID = DEFAULT_AID_POLICY
AS_OF = dt.datetime(2024, 10, 8, tzinfo=dt.UTC)
P = AidProgramme


# --- compulsory age -----------------------------------------------------------------------


def test_the_defaults_are_the_seeds():
    assert (AGES.first_age, AGES.last_age) == (6, 15)
    assert AID.boarding_allowance == {SchoolStage.primary: D("1000"), SchoolStage.junior: D("1250")}


def test_of_compulsory_age_from_the_sixth_birthday():
    born = dt.date(2018, 5, 20)
    assert not is_compulsory_age(born, dt.date(2024, 5, 19), AGES)
    assert is_compulsory_age(born, dt.date(2024, 5, 20), AGES)


def test_a_child_who_turns_16_mid_term_stays_until_the_term_ends():
    born = dt.date(2008, 11, 3)  # 16 on 2024-11-03, in the autumn term begun 2024-09-01
    assert is_compulsory_age(born, dt.date(2024, 11, 2), AGES)
    assert is_compulsory_age(born, dt.date(2024, 11, 3), AGES)
    assert is_compulsory_age(born, dt.date(2025, 2, 28), AGES)  # the autumn term still
    assert not is_compulsory_age(born, dt.date(2025, 3, 1), AGES)  # next term: 16 at its start


def test_a_child_who_turned_16_before_the_term_is_not_of_compulsory_age():
    born = dt.date(2008, 8, 31)  # 16 the day before the autumn term
    assert not is_compulsory_age(born, dt.date(2024, 9, 1), AGES)
    assert is_compulsory_age(born, dt.date(2024, 8, 30), AGES)  # spring term's summer


def test_finishing_junior_high_at_14_ends_compulsory_education():
    born = dt.date(2010, 3, 1)
    on = dt.date(2024, 9, 10)
    assert age_on(born, on) == 14
    assert is_compulsory_age(born, on, AGES, finished_stage=SchoolStage.primary)
    assert not is_compulsory_age(born, on, AGES, finished_stage=SchoolStage.junior)
    assert not is_compulsory_age(born, on, AGES, finished_stage=SchoolStage.secondary_vocational)


def test_the_ages_are_the_policys():
    born = dt.date(2009, 1, 10)  # 15 in the whole of the spring term 2024
    on = dt.date(2024, 4, 1)
    assert is_compulsory_age(born, on, AGES)
    assert not is_compulsory_age(born, on, dataclasses.replace(AGES, last_age=14))


def test_a_29_february_birthday_counts_on_1_march():
    born = dt.date(2016, 2, 29)
    assert age_on(born, dt.date(2022, 2, 28)) == 5
    assert age_on(born, dt.date(2022, 3, 1)) == 6


def test_term_start():
    assert term_start(dt.date(2024, 1, 15), AGES.term_starts) == dt.date(2023, 9, 1)
    assert term_start(dt.date(2024, 3, 1), AGES.term_starts) == dt.date(2024, 3, 1)
    assert term_start(dt.date(2024, 12, 31), AGES.term_starts) == dt.date(2024, 9, 1)


@given(
    born=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
    on=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
)
def test_compulsory_age_lies_between_the_policys_ages(born, on):
    if is_compulsory_age(born, on, AGES):
        assert AGES.first_age <= age_on(born, on) <= AGES.last_age + 1
    elif AGES.first_age <= age_on(born, on) < AGES.last_age:
        pytest.fail("a child between 6 and 14 who has not finished junior high is of age")


# --- the 义务教育有保障 dimension --------------------------------------------------------

ON = dt.date(2024, 10, 8)
NINE = dt.date(2015, 4, 1)
ENROLLED = Child(NINE, status=EnrolmentStatus.enrolled)


def fact(*children: Child):
    return education_fact(children, ON, AGES, AS_OF)


def test_a_household_whose_children_are_at_school_is_ok():
    assert fact(ENROLLED).status is DimensionState.ok
    assert fact().status is DimensionState.ok  # no compulsory-age child: nothing missing


def test_a_compulsory_age_dropout_is_not_ok():
    result = fact(ENROLLED, Child(NINE, status=EnrolmentStatus.dropped_out))
    assert (result.status, result.reason) == (DimensionState.not_ok, Reason.DROPOUT)
    assert result.detail == "1 compulsory-age child(ren) dropped out"


def test_an_alternative_mode_counts_only_with_evidence():
    for mode in (
        EnrolmentStatus.home_teaching,
        EnrolmentStatus.distance,
        EnrolmentStatus.special_school,
    ):
        assert fact(Child(NINE, status=mode, evidenced=True)).status is DimensionState.ok
        result = fact(Child(NINE, status=mode))
        assert (result.status, result.reason) == (DimensionState.not_ok, Reason.OUT_OF_SCHOOL)


def test_a_child_who_left_after_primary_school_is_out_of_school():
    child = Child(dt.date(2011, 6, 1), SchoolStage.primary, EnrolmentStatus.graduated)
    assert fact(child).reason == Reason.OUT_OF_SCHOOL


def test_a_missing_student_record_is_unknown_and_a_dropout_outweighs_it():
    unmatched = Child(NINE)
    result = fact(ENROLLED, unmatched)
    assert (result.status, result.reason) == (DimensionState.unknown, Reason.NO_STUDENT_RECORD)
    dropout = Child(NINE, status=EnrolmentStatus.dropped_out)
    assert fact(unmatched, dropout).status is DimensionState.not_ok


def test_children_outside_compulsory_age_do_not_count():
    toddler = Child(dt.date(2020, 1, 1))  # no record, 4 years old
    finished = Child(dt.date(2010, 1, 1), SchoolStage.junior, EnrolmentStatus.dropped_out)
    older = Child(dt.date(2005, 1, 1), status=EnrolmentStatus.dropped_out)  # 19
    assert fact(toddler, finished, older).status is DimensionState.ok


def test_a_dropout_who_returns_makes_the_household_ok_again():
    dropout = Child(NINE, status=EnrolmentStatus.dropped_out)
    assert fact(dropout).status is DimensionState.not_ok
    returned = dataclasses.replace(dropout, status=EnrolmentStatus.enrolled)
    assert fact(returned).status is DimensionState.ok


# --- aid standards -------------------------------------------------------------------------


def registered(stage: SchoolStage, *, registered_poor: bool = True, **facts) -> Student:
    """A student of a registered-poor household unless the test says otherwise."""
    return Student(stage, registered_poor=registered_poor, **facts)


def exactly(amount: str) -> AmountRange:
    return AmountRange.exactly(D(amount))


@pytest.mark.parametrize(
    ("programme", "student", "expected"),
    [
        (P.preschool, registered(SchoolStage.preschool), exactly("750.00")),
        (P.boarding_allowance, registered(SchoolStage.primary, boarding=True), exactly("1000.00")),
        (P.boarding_allowance, registered(SchoolStage.junior, boarding=True), exactly("1250.00")),
        (P.nutrition, registered(SchoolStage.primary), exactly("800.00")),  # 4元 × 200天
        (P.senior_high_grant, registered(SchoolStage.senior_high), exactly("2000.00")),
        (P.senior_high_fee_waiver, registered(SchoolStage.senior_high), exactly("1600.00")),
        (P.vocational_fee_waiver, registered(SchoolStage.secondary_vocational), exactly("1500.00")),
        (P.vocational_grant, registered(SchoolStage.secondary_vocational), exactly("2000.00")),
        (P.vocational_one_off, registered(SchoolStage.higher_vocational), exactly("3000.00")),
        (P.yulu, registered(SchoolStage.university), exactly("3000.00")),
        (
            P.charity_school,
            registered(SchoolStage.junior),
            AmountRange(minimum=D("600"), maximum=D("1000")),
        ),
        (
            P.charity_university_entry,
            registered(SchoolStage.university, hardship=True),
            exactly("5000.00"),
        ),
    ],
)
def test_the_standard_of_each_programme(programme, student, expected):
    assert standard(programme, student, AID) == expected
    assert check_grant(programme, expected.maximum, 2024, student, AID) == expected


def test_every_parameter_default_parses_as_its_type():
    for parameter in PARAMETERS:
        assert parameter.parse(parameter.to_json(parameter.default)) == parameter.default
    assert len(policy.parameters) == len(PARAMETERS)


def test_a_grant_above_the_standard_is_refused_with_the_rule():
    boarder = registered(SchoolStage.junior, boarding=True)
    with pytest.raises(Problem) as refused:
        check_grant(P.boarding_allowance, D("1250.01"), 2024, boarder, AID)
    assert refused.value.kind is errors.GRANT_ABOVE_STANDARD
    assert "不随意提标扩面" in refused.value.detail
    assert "1250.00" in refused.value.detail


def test_the_standard_holds_for_the_school_year_over_several_payments():
    boarder = registered(SchoolStage.primary, boarding=True)
    autumn = [Granted(P.boarding_allowance, 2024, D("500.00"))]
    check_grant(P.boarding_allowance, D("500.00"), 2024, boarder, AID, autumn)
    with pytest.raises(Problem, match="500.00元 granted already"):
        check_grant(P.boarding_allowance, D("500.01"), 2024, boarder, AID, autumn)
    check_grant(P.boarding_allowance, D("1000.00"), 2025, boarder, AID, autumn)  # a new year


def test_a_one_off_is_paid_once_whatever_the_year():
    student = registered(SchoolStage.higher_vocational)
    paid = [Granted(P.vocational_one_off, 2023, D("3000.00"))]
    with pytest.raises(Problem) as refused:
        check_grant(P.vocational_one_off, D("3000.00"), 2024, student, AID, paid)
    assert refused.value.kind is errors.GRANT_ABOVE_STANDARD


@pytest.mark.parametrize(
    ("programme", "student", "why"),
    [
        (P.senior_high_grant, registered(SchoolStage.junior), "not for the junior stage"),
        (P.yulu, registered(SchoolStage.senior_high), "not for the senior_high stage"),
        (P.boarding_allowance, registered(SchoolStage.primary), "boarding students"),
        (P.boarding_allowance, registered(SchoolStage.senior_high, boarding=True), "not for"),
        (P.nutrition, registered(SchoolStage.primary, registered_poor=False), "not registered"),
        (P.charity_university_entry, registered(SchoolStage.university), "特困生"),
    ],
)
def test_a_grant_to_an_ineligible_student_is_refused(programme, student, why):
    with pytest.raises(Problem) as refused:
        check_grant(programme, D("1.00"), 2024, student, AID)
    assert refused.value.kind is errors.NOT_ELIGIBLE
    assert why in refused.value.detail
    assert refused.value.detail.startswith("不随意提标扩面")


def test_the_stages_of_a_programme_are_the_policys():
    narrowed = dataclasses.replace(
        AID, programme_stages={**AID.programme_stages, P.yulu: [SchoolStage.higher_vocational]}
    )
    with pytest.raises(Problem):
        check_grant(P.yulu, D("3000.00"), 2024, registered(SchoolStage.university), narrowed)


def test_programmes_stack_unless_the_policy_says_not():
    student = registered(SchoolStage.secondary_vocational)
    granted = [
        Granted(P.vocational_fee_waiver, 2024, D("1500.00")),
        Granted(P.vocational_grant, 2024, D("2000.00")),
    ]
    check_grant(P.vocational_one_off, D("3000.00"), 2024, student, AID, granted)  # 叠加
    exclusive = dataclasses.replace(
        AID, not_stacking=frozenset({frozenset({P.vocational_grant, P.vocational_one_off})})
    )
    with pytest.raises(Problem) as refused:
        check_grant(P.vocational_one_off, D("3000.00"), 2024, student, exclusive, granted)
    assert refused.value.kind is errors.GRANTS_DO_NOT_STACK
    # another school year's grant does not stand in the way
    check_grant(P.vocational_one_off, D("3000.00"), 2025, student, exclusive, granted)


# --- 资助全覆盖 ------------------------------------------------------------------------------


def test_the_entitlements_of_a_student_are_every_programme_of_their_stage():
    boarder = registered(SchoolStage.junior, boarding=True)
    assert set(entitlements(boarder, AID)) == {P.boarding_allowance, P.nutrition}
    assert set(entitlements(registered(SchoolStage.junior), AID)) == {P.nutrition}
    assert set(entitlements(registered(SchoolStage.secondary_vocational), AID)) == {
        P.vocational_fee_waiver,
        P.vocational_grant,
        P.vocational_one_off,
    }
    assert entitlements(registered(SchoolStage.primary, registered_poor=False), AID) == {}


def test_missing_entitlements_of_a_term():
    student = registered(SchoolStage.senior_high)
    assert missing_entitlements(student, AID, 2024, []) == [
        P.senior_high_grant,
        P.senior_high_fee_waiver,
    ]
    granted = [
        Granted(P.senior_high_grant, 2024, D("1000.00")),
        Granted(P.senior_high_fee_waiver, 2023, D("1600.00")),  # last year's
    ]
    assert missing_entitlements(student, AID, 2024, granted) == [P.senior_high_fee_waiver]
    vocational = registered(SchoolStage.higher_vocational)
    once = [Granted(P.vocational_one_off, 2022, D("3000.00"))]
    assert missing_entitlements(vocational, AID, 2024, once) == [P.yulu]


@given(
    stage=st.sampled_from(SchoolStage),
    boarding=st.booleans(),
    hardship=st.booleans(),
    programme=st.sampled_from(AidProgramme),
    cents=st.integers(min_value=0, max_value=1_000_000),
)
def test_a_grant_is_allowed_exactly_when_eligible_and_within_the_standard(
    stage, boarding, hardship, programme, cents
):
    student = registered(stage, boarding=boarding, hardship=hardship)
    amount = D(cents) / 100
    try:
        rule = check_grant(programme, amount, 2024, student, AID)
    except Problem as refused:
        if refused.kind is errors.GRANT_ABOVE_STANDARD:
            assert amount > standard(programme, student, AID).maximum
        else:
            assert refused.kind is errors.NOT_ELIGIBLE
            assert ineligibility(programme, student, AID) is not None
    else:
        assert amount <= rule.maximum


# --- fixture #1: a township's aid report [001] ----------------------------------------------

FIXTURE_1 = [
    ReportLine("学前教育", 9, [Part(amount=D("4500"))]),
    ReportLine("小学 (寄宿生 21)", 51, [Part(amount=D("29742.5"))]),
    ReportLine("初中 (寄宿生 12)", 26, [Part(amount=D("21085"))]),
    ReportLine("普通高中", 12, [Part(amount=D("28050"))]),
    # every one of the 13 has the 1500元 fee waiver, 9 also 1000元 + 400元
    ReportLine("中职", 13, [Part(count=13, rate=D("1500")), Part(count=9, rate=D("1400"))]),
]


def test_fixture_1_adds_up():
    check = check_reported_total(111, D("115477.5"), FIXTURE_1)
    assert check.adds_up
    assert check.computed_students == 111
    assert check.amount.computed == D("115477.5")
    vocational = reconcile(D("32100"), Unit.yuan, FIXTURE_1[-1].parts)
    assert vocational.adds_up


def test_a_wrong_total_is_a_mismatch():
    wrong_amount = check_reported_total(111, D("115477.0"), FIXTURE_1)
    assert not wrong_amount.adds_up
    assert wrong_amount.amount.difference == D("0.5")
    wrong_count = check_reported_total(112, D("115477.5"), FIXTURE_1)
    assert not wrong_count.adds_up and wrong_count.amount.adds_up
    in_wan = check_reported_total(111, D("11.54775"), FIXTURE_1, Unit.wan)
    assert in_wan.adds_up
