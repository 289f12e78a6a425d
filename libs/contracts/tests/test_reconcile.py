"""DOMAIN §11's health and premium fixtures: a stated total against its parts, exactly."""

from decimal import Decimal as D

import pytest

from contracts.reconcile import Part, Unit, reconcile, to_yuan


def test_fixtures_that_add_up_and_fixtures_that_do_not():
    premium = reconcile(D("465740"), Unit.yuan, [Part(count=2117, rate=D("220.00"))])  # #2
    assert premium.adds_up and premium.difference == 0
    health = reconcile(  # #19: 2346.37万 stated for 5223.43万 + 104.78万
        D("2346.37"),
        Unit.wan,
        [Part(amount=D("5223.43"), unit=Unit.wan), Part(amount=D("104.78"), unit=Unit.wan)],
    )
    assert not health.adds_up and health.computed == D("5328.21")
    dialysis = reconcile(D("474"), Unit.wan, [Part(count=49498, rate=D("100"))])  # #20
    assert not dialysis.adds_up and dialysis.computed == D("494.98")
    funds = reconcile(  # #10: 8.52 + 3.17 + 3.60 = 15.29亿
        D("15.29"), Unit.yi, [Part(amount=D(a), unit=Unit.yi) for a in ("8.52", "3.17", "3.60")]
    )
    assert funds.adds_up
    investment = reconcile(  # #11: 48.79 + 39.05 + 2.4 + 5.5 is 95.74, not 95.73亿
        D("95.73"),
        Unit.yi,
        [Part(amount=D(a), unit=Unit.yi) for a in ("48.79", "39.05", "2.4", "5.5")],
    )
    assert not investment.adds_up and investment.difference == D("0.01")
    assert reconcile(D("95.73"), Unit.yi, investment_parts(), tolerance=D("0.01")).adds_up


def investment_parts():
    return [Part(amount=D(a), unit=Unit.yi) for a in ("48.79", "39.05", "2.4", "5.5")]


def test_units_convert_exactly():
    assert to_yuan(D("32.352"), Unit.wan) == D("323520")
    assert to_yuan(D("61.2429"), Unit.wan) == D("612429")
    assert to_yuan(D("15.29"), Unit.yi) == D("1529000000")


def test_a_part_is_an_amount_or_a_count_at_a_rate():
    with pytest.raises(ValueError):
        Part()
    with pytest.raises(ValueError):
        Part(amount=D(1), count=2, rate=D(3))
    with pytest.raises(ValueError):
        reconcile(D(1), Unit.yuan, [])
