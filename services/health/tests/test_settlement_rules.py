"""One-stop settlement rules (一站式结算, DOMAIN §4.2): worked examples and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.money import quantize
from health.settlement.rules import (
    ConsentMissing,
    CostLine,
    InvalidClaim,
    Payer,
    PayerRule,
    SettlementRules,
    YearToDate,
    settle,
)

D = Decimal
NO_CAP = None


def parts(settlement) -> dict[str, str]:
    return {payer.value: str(amount) for payer, amount in settlement.parts.items()}


def example_lines() -> list[CostLine]:
    """T 60000.00 = C 56000.00 (two compliant lines) + N 4000.00 (consent signed)."""
    return [
        CostLine(D("30000.00"), in_catalogue=True),
        CostLine(D("4000.00"), in_catalogue=False, consent_signed=True),
        CostLine(D("26000.00"), in_catalogue=True),
    ]


def poor_rules(
    personal_cap_ratio=D("0.10"), supplementary_cap=NO_CAP, target=D("0.10")
) -> SettlementRules:
    """The worked example's parameters: a registered poor person at a county hospital."""
    return SettlementRules(
        bmi=PayerRule(deductible=D("500"), ratio=D("0.70"), annual_cap=NO_CAP),
        cii=PayerRule(deductible=D("0"), ratio=D("0.50"), annual_cap=NO_CAP),
        ma=PayerRule(deductible=D("0"), ratio=D("0.70"), annual_cap=D("10000.00")),
        supplementary_cap=supplementary_cap,
        personal_cap_ratio=personal_cap_ratio,
        actual_share_target=target,
    )


EXAMPLE_USED = YearToDate(ma=D("9000.00"))  # 医疗救助: 9000 of its 10000 cap already paid


# --- the worked example of DOMAIN §4.2 ---------------------------------------------------


def test_worked_example_at_a_county_hospital_to_the_fen():
    s = settle(example_lines(), poor_rules(), EXAMPLE_USED)
    assert (s.total, s.compliant, s.out_of_catalogue) == (D("60000"), D("56000"), D("4000"))
    assert parts(s) == {
        "bmi": "38850.00",
        "cii": "8575.00",
        "ma": "1000.00",
        "supplementary": "1975.00",
        "county_fund": "0.00",
        "personal": "9600.00",
    }
    assert s.other == D("1975.00")
    assert s.personal_cap == D("5600.00")
    assert s.compliant_personal == D("5600.00")
    assert s.compliant_personal_ratio == D("0.10")
    assert s.actual_personal_ratio == D("0.16")
    assert s.warnings == ("actual personal share 16.00% is above the 10.00% target (实际自付比)",)


def test_township_variant_moves_more_off_the_patient():
    s = settle(example_lines(), poor_rules(personal_cap_ratio=D("0.05")), EXAMPLE_USED)
    assert s.other == D("4775.00")
    assert s.personal == D("6800.00")
    assert s.compliant_personal == D("2800.00")
    assert sum(s.parts.values()) == D("60000.00")
    assert s.compliant_personal_ratio == D("0.05")


def test_supplementary_with_little_cap_left_hands_the_rest_to_the_county_fund():
    rules = poor_rules(supplementary_cap=D("3000.00"))
    used = YearToDate(ma=D("9000.00"), supplementary=D("2500.00"))
    s = settle(example_lines(), rules, used)
    assert s.parts[Payer.supplementary] == D("500.00")
    assert s.parts[Payer.county_fund] == D("1475.00")
    assert s.personal == D("9600.00")  # the personal cap still holds


def test_an_exhausted_supplementary_cap_leaves_everything_to_the_county_fund():
    rules = poor_rules(supplementary_cap=D("3000.00"))
    used = YearToDate(ma=D("9000.00"), supplementary=D("3500.00"))  # already above its cap
    s = settle(example_lines(), rules, used)
    assert s.parts[Payer.supplementary] == D("0.00")
    assert s.parts[Payer.county_fund] == D("1975.00")


def test_no_warning_without_a_target_or_at_exactly_the_target():
    assert settle(example_lines(), poor_rules(target=None), EXAMPLE_USED).warnings == ()
    s = settle(example_lines(), poor_rules(target=D("0.16")), EXAMPLE_USED)
    assert s.actual_personal_ratio == D("0.16")
    assert s.warnings == ()  # the warning is for *above* the target
    s = settle(example_lines(), poor_rules(target=D("0.1599")), EXAMPLE_USED)
    assert s.warnings == ("actual personal share 16.00% is above the 15.99% target (实际自付比)",)


def test_booking_a_claim_uses_up_the_annual_caps_for_the_next_one():
    first = settle(example_lines(), poor_rules(), EXAMPLE_USED)
    used = EXAMPLE_USED.after(first)
    assert used == YearToDate(
        bmi=D("38850.00"), cii=D("8575.00"), ma=D("10000.00"), supplementary=D("1975.00")
    )
    second = settle(example_lines(), poor_rules(), used)
    assert second.parts[Payer.ma] == D("0.00")  # 医疗救助 cap reached by the first claim
    assert second.parts[Payer.supplementary] == D("2975.00")  # takes over MA's 1000.00
    assert second.personal == D("9600.00")


# --- other groups ----------------------------------------------------------------------


def test_a_non_poor_patient_gets_no_cap_and_no_supplementary_or_county_fund():
    rules = SettlementRules(
        bmi=PayerRule(deductible=D("800.00"), ratio=D("0.60"), annual_cap=D("150000.00")),
        cii=PayerRule(deductible=D("15000.00"), ratio=D("0.50"), annual_cap=D("300000.00")),
        ma=None,
        supplementary_cap=NO_CAP,
        personal_cap_ratio=None,
    )
    s = settle(example_lines(), rules, YearToDate())
    assert parts(s) == {
        "bmi": "33120.00",  # (56000 − 800) × 0.60
        "cii": "3940.00",  # (22880 − 15000) × 0.50
        "ma": "0.00",
        "supplementary": "0.00",
        "county_fund": "0.00",
        "personal": "22940.00",  # 18940 compliant left + 4000 out of catalogue
    }
    assert s.personal_cap is None
    assert s.compliant_personal_ratio > D("0.10")  # no 10% cap for the non-poor
    assert s.warnings == ()


def test_not_insured_means_bmi_and_cii_pay_nothing():
    rules = SettlementRules(
        bmi=None,
        cii=None,
        ma=PayerRule(deductible=D("0.00"), ratio=D("0.70"), annual_cap=D("10000.00")),
        supplementary_cap=D("20000.00"),
        personal_cap_ratio=D("0.10"),
    )
    s = settle(example_lines(), rules, YearToDate())
    assert parts(s) == {
        "bmi": "0.00",
        "cii": "0.00",
        "ma": "10000.00",  # min(56000 × 0.70, cap 10000)
        "supplementary": "20000.00",
        "county_fund": "20400.00",  # 56000 − 10000 − 5600 − 20000
        "personal": "9600.00",
    }


def test_a_used_up_bmi_cap_pays_nothing_and_a_deductible_above_the_cost_pays_nothing():
    rules = SettlementRules(
        bmi=PayerRule(deductible=D("0.00"), ratio=D("0.90"), annual_cap=D("1000.00")),
        cii=PayerRule(deductible=D("900.00"), ratio=D("0.50"), annual_cap=NO_CAP),
        ma=None,
        supplementary_cap=NO_CAP,
        personal_cap_ratio=None,
    )
    s = settle([CostLine(D("800.00"), True)], rules, YearToDate(bmi=D("1000.00")))
    assert (s.parts[Payer.bmi], s.parts[Payer.cii], s.personal) == (D("0"), D("0"), D("800"))


# --- rounding ----------------------------------------------------------------------------


def test_each_payer_is_rounded_half_up_to_the_fen():
    rules = SettlementRules(
        bmi=PayerRule(deductible=D("0.00"), ratio=D("0.50"), annual_cap=NO_CAP),
        cii=None,
        ma=None,
        supplementary_cap=NO_CAP,
        personal_cap_ratio=None,
    )
    s = settle([CostLine(D("100.01"), True)], rules, YearToDate())
    assert s.parts[Payer.bmi] == D("50.01")  # 50.005 half-up, not the banker's 50.00
    assert s.personal == D("50.00")


def test_the_personal_cap_is_money_rounded_half_up():
    rules = SettlementRules(
        bmi=None, cii=None, ma=None, supplementary_cap=NO_CAP, personal_cap_ratio=D("0.10")
    )
    s = settle([CostLine(D("100.05"), True)], rules, YearToDate())
    assert s.personal_cap == D("10.01")  # 10.005 half-up
    assert (s.parts[Payer.supplementary], s.personal) == (D("90.04"), D("10.01"))


def test_a_claim_of_zero_has_no_ratios_and_no_warning():
    s = settle([CostLine(D("0.00"), True)], poor_rules(), YearToDate())
    assert set(s.parts.values()) == {D("0.00")}
    assert s.compliant_personal_ratio is None
    assert s.actual_personal_ratio is None
    assert s.warnings == ()


# --- rejected input ----------------------------------------------------------------------


def test_out_of_catalogue_lines_without_consent_are_all_named():
    lines = [
        CostLine(D("10.00"), in_catalogue=True),  # in the catalogue: no consent needed
        CostLine(D("20.00"), in_catalogue=False),
        CostLine(D("30.00"), in_catalogue=False, consent_signed=True),
        CostLine(D("40.00"), in_catalogue=False),
    ]
    with pytest.raises(ConsentMissing) as caught:
        settle(lines, poor_rules(), YearToDate())
    assert caught.value.indexes == (1, 3)
    assert isinstance(caught.value, ValueError)
    assert "1, 3" in str(caught.value)
    assert caught.value.field == "lines[1].consent_signed"


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (D("-0.01"), "must not be negative"),
        (D("12.345"), "at most 2 decimal places"),
        (D("NaN"), "finite"),
        (D("Infinity"), "finite"),
        (12.5, "must be a Decimal"),
    ],
)
def test_a_bad_amount_is_rejected_naming_its_line(amount, reason):
    lines = [CostLine(D("1.00"), True), CostLine(amount, True)]
    with pytest.raises(ValueError, match=reason) as caught:
        settle(lines, poor_rules(), YearToDate())
    assert caught.value.field == "lines[1].amount"


def test_a_claim_without_lines_is_rejected():
    with pytest.raises(ValueError, match="at least one cost line"):
        settle([], poor_rules(), YearToDate())


def test_a_bad_amount_is_reported_before_missing_consent():
    lines = [CostLine(D("-5.00"), in_catalogue=False)]
    with pytest.raises(InvalidClaim) as caught:
        settle(lines, poor_rules(), YearToDate())
    assert not isinstance(caught.value, ConsentMissing)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PayerRule(deductible=D("0"), ratio=D("1.01"), annual_cap=None),
        lambda: PayerRule(deductible=D("0"), ratio=D("-0.01"), annual_cap=None),
        lambda: PayerRule(deductible=D("-1"), ratio=D("0.5"), annual_cap=None),
        lambda: PayerRule(deductible=D("0"), ratio=D("0.5"), annual_cap=D("-0.01")),
        lambda: PayerRule(deductible=D("0"), ratio=0.5, annual_cap=None),
        lambda: SettlementRules(None, None, None, None, personal_cap_ratio=D("1.5")),
        lambda: SettlementRules(None, None, None, D("-1"), personal_cap_ratio=None),
        lambda: SettlementRules(None, None, None, None, None, actual_share_target=D("-0.1")),
        lambda: YearToDate(bmi=D("-0.01")),
        lambda: YearToDate(ma=D("0.001")),
    ],
)
def test_out_of_range_rules_and_year_to_date_amounts_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_boundary_rules_are_accepted():
    rule = PayerRule(deductible=D("0"), ratio=D("1"), annual_cap=D("0"))
    rules = SettlementRules(rule, rule, None, D("0"), personal_cap_ratio=D("0"))
    s = settle([CostLine(D("10.00"), True)], rules, YearToDate())
    # every capped payer has nothing left, the cap ratio 0 sends all to the county fund
    assert s.parts[Payer.county_fund] == D("10.00")
    assert s.personal == D("0.00")


# --- properties over random claims, rules and year-to-date amounts -----------------------


def cents(max_yuan: int):
    return st.integers(0, max_yuan * 100).map(lambda n: Decimal(n).scaleb(-2))


ratios = st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-4))  # 0.0000 … 1.0000
caps = st.none() | cents(200_000)
payer_rules = st.none() | st.builds(
    PayerRule, deductible=cents(5_000), ratio=ratios, annual_cap=caps
)
rule_sets = st.builds(
    SettlementRules,
    bmi=payer_rules,
    cii=payer_rules,
    ma=payer_rules,
    supplementary_cap=caps,
    personal_cap_ratio=st.none() | ratios,
    actual_share_target=st.none() | ratios,
)
year_to_date = st.builds(
    YearToDate,
    bmi=cents(250_000),
    cii=cents(250_000),
    ma=cents(250_000),
    supplementary=cents(250_000),
)
# out-of-catalogue lines are consented here; the consent rule has its own example
claims = st.lists(
    st.builds(
        lambda amount, in_catalogue: CostLine(amount, in_catalogue, not in_catalogue),
        cents(300_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)
PROPERTY = settings(max_examples=300, deadline=None)


def capped_payers(rules, used):
    """(payer, cap, used) for the payers whose annual cap applies."""
    rows = [
        (Payer.bmi, rules.bmi, used.bmi),
        (Payer.cii, rules.cii, used.cii),
        (Payer.ma, rules.ma, used.ma),
    ]
    for payer, rule, paid in rows:
        if rule is not None and rule.annual_cap is not None:
            yield payer, rule.annual_cap, paid
    if rules.personal_cap_ratio is not None and rules.supplementary_cap is not None:
        yield Payer.supplementary, rules.supplementary_cap, used.supplementary


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_parts_sum_to_the_total_to_the_fen(lines, rules, used):
    s = settle(lines, rules, used)
    assert list(s.parts) == list(Payer)
    assert s.total == sum((line.amount for line in lines), D(0))
    assert s.compliant == sum((line.amount for line in lines if line.in_catalogue), D(0))
    assert sum(s.parts.values()) == s.total


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_every_part_is_non_negative_money_with_two_decimals(lines, rules, used):
    s = settle(lines, rules, used)
    for payer, amount in s.parts.items():
        assert amount >= 0, payer
        assert amount.as_tuple().exponent == -2, payer


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_the_personal_cap_holds_and_binds_only_when_others_pay(lines, rules, used):
    s = settle(lines, rules, used)
    left = s.compliant - s.parts[Payer.bmi] - s.parts[Payer.cii] - s.parts[Payer.ma]  # R3
    if rules.personal_cap_ratio is None:
        assert s.other == 0
        assert s.compliant_personal == left
    else:
        cap = quantize(rules.personal_cap_ratio * s.compliant)
        assert s.compliant_personal <= cap
        # only what is above the cap moves off the patient
        assert s.compliant_personal == min(left, cap)


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_no_payer_exceeds_what_its_annual_cap_has_left(lines, rules, used):
    s = settle(lines, rules, used)
    for payer, cap, paid in capped_payers(rules, used):
        assert s.parts[payer] <= max(D(0), cap - paid), payer
    for payer, rule in ((Payer.bmi, rules.bmi), (Payer.cii, rules.cii), (Payer.ma, rules.ma)):
        if rule is None:
            assert s.parts[payer] == 0, payer


@PROPERTY
@given(claims, rule_sets, year_to_date, claims)
def test_annual_caps_hold_across_two_claims_of_a_year(first, rules, used, second):
    one = settle(first, rules, used)
    middle = used.after(one)
    two = settle(second, rules, middle)
    end = middle.after(two)
    for payer in (Payer.bmi, Payer.cii, Payer.ma, Payer.supplementary):
        booked = one.parts[payer] + two.parts[payer]
        assert getattr(end, payer.value) == getattr(used, payer.value) + booked, payer
    for payer, cap, paid in capped_payers(rules, used):
        booked = getattr(end, payer.value) - paid  # both claims together
        assert booked <= max(D(0), cap - paid), payer


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_settling_the_same_claim_twice_gives_the_same_result(lines, rules, used):
    first = settle(lines, rules, used)
    assert settle(tuple(lines), rules, used) == first
    assert settle(list(lines), rules, used) == first


@PROPERTY
@given(claims, rule_sets, year_to_date)
def test_the_patient_pays_at_least_the_out_of_catalogue_cost(lines, rules, used):
    s = settle(lines, rules, used)
    assert s.personal >= s.out_of_catalogue
    assert s.personal == s.compliant_personal + s.out_of_catalogue
    if s.actual_personal_ratio is not None:
        above = rules.actual_share_target is not None and (
            s.personal > rules.actual_share_target * s.total
        )
        assert bool(s.warnings) == above
