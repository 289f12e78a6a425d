"""Tests of the deterministic demo county generator (演示县)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache

import pytest

from contracts.enums import (
    AssistanceType,
    Gender,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    RegionLevel,
    Relation,
)
from contracts.region import parent_code, region_level, validate_region_code
from contracts.resident_id import birth_date, gender, validate_resident_id
from registry.demo.generator import REFERENCE_DATE, DemoCounty, HouseholdSeed, generate_county

S = PovertyState
EVER_REGISTERED = {
    S.registered,
    S.planned_exit,
    S.exited,
    S.exited_monitored,
    S.returned,
    S.removed,
}
INTAKE = set(PovertyState) - EVER_REGISTERED
NOT_REGISTERED = INTAKE | {S.removed}  # candidate…rejected and 清退


@cache
def county() -> DemoCounty:
    """The default county, generated once for the read-only checks."""
    return generate_county()


def age(born: date) -> int:
    today = REFERENCE_DATE
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def share(households: tuple[HouseholdSeed, ...], predicate) -> float:
    return sum(1 for h in households if predicate(h)) / len(households)


# --- Determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_output() -> None:
    assert generate_county(seed=7, households=150) == generate_county(seed=7, households=150)
    assert generate_county() == county()


def test_different_seed_differs() -> None:
    a = generate_county(seed=1, households=150)
    b = generate_county(seed=2, households=150)
    assert a.households != b.households
    assert {m.id_number for h in a.households for m in h.members} != {
        m.id_number for h in b.households for m in h.members
    }


@pytest.mark.parametrize("count", [0, 1, 5, 40, 1200])
def test_household_count_is_exact(count: int) -> None:
    assert len(generate_county(seed=3, households=count).households) == count


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError):
        generate_county(households=-1)


# --- Region tree ---------------------------------------------------------------------------


def test_region_tree_shape() -> None:
    regions = county().regions
    by_level = Counter(r.level for r in regions)
    assert by_level[RegionLevel.province] == 1
    assert by_level[RegionLevel.city] == 1
    assert by_level[RegionLevel.county] == 1
    assert by_level[RegionLevel.township] >= 4
    assert by_level[RegionLevel.village] >= 12
    names = {r.code: r.name for r in regions}
    assert names["620000000000"] == "甘肃省"
    assert names["622900000000"] == "临夏回族自治州"
    assert names["622924000000"] == "广河县"


def test_region_codes_valid_unique_and_parents_first() -> None:
    regions = county().regions
    codes = [r.code for r in regions]
    assert len(codes) == len(set(codes))
    seen: set[str] = set()
    for r in regions:
        assert validate_region_code(r.code) == r.code
        assert region_level(r.code) is r.level
        assert r.parent_code == parent_code(r.code)
        assert r.parent_code is None or r.parent_code in seen, "parent must come first"
        assert r.name
        seen.add(r.code)
    townships = [r for r in regions if r.level is RegionLevel.township]
    for t in townships:
        villages = [r for r in regions if r.parent_code == t.code]
        assert 3 <= len(villages) <= 4
        assert t.name.endswith(("镇", "乡"))
        # 镇 are numbered from 100, 乡 from 200
        assert t.code[6] == ("1" if t.name.endswith("镇") else "2")
        assert all(v.code[9:] == f"{201 + i:03d}" for i, v in enumerate(villages))


def test_households_live_in_villages_of_the_tree() -> None:
    c = county()
    villages = {r.code for r in c.regions if r.level is RegionLevel.village}
    used = Counter(h.region_code for h in c.households)
    assert set(used) <= villages
    assert set(used) == villages, "every village gets households"
    assert all(1 <= h.group_no <= 8 for h in c.households)


# --- Members and resident IDs ----------------------------------------------------------------


def test_resident_ids_valid_unique_and_gender_parity() -> None:
    numbers = [m.id_number for h in county().households for m in h.members]
    assert len(numbers) == len(set(numbers))
    for n in numbers:
        assert validate_resident_id(n, today=REFERENCE_DATE) == n
        assert n.startswith("622924")
        assert (gender(n) is Gender.male) == (int(n[14:17]) % 2 == 1)


def test_exactly_one_head_listed_first() -> None:
    for h in county().households:
        assert 1 <= len(h.members) <= 8
        assert h.members[0].relation is Relation.head
        assert sum(m.relation is Relation.head for m in h.members) == 1


def test_relations_ages_and_genders_are_consistent() -> None:
    for h in county().households:
        head = h.members[0]
        head_age = age(birth_date(head.id_number))
        head_gender = gender(head.id_number)
        assert 25 <= head_age <= 80
        children = [m for m in h.members if m.relation is Relation.child]
        child_ages = [age(birth_date(m.id_number)) for m in children]
        spouses = [m for m in h.members if m.relation is Relation.spouse]
        assert len(spouses) <= 1
        for m in h.members[1:]:
            born = birth_date(m.id_number)
            a = age(born)
            if m.relation is Relation.spouse:
                assert gender(m.id_number) is not head_gender
                assert abs(a - head_age) <= 8
            elif m.relation is Relation.child:
                assert born > birth_date(head.id_number)
                assert 0 <= a <= head_age - 18
            elif m.relation is Relation.parent:
                assert head_age + 18 <= a <= 95
            elif m.relation is Relation.grandchild:
                assert child_ages and a <= max(child_ages) - 18
        parents = [m for m in h.members if m.relation is Relation.parent]
        assert len(parents) <= 2
        if len(parents) == 2:
            assert {gender(p.id_number) for p in parents} == {Gender.male, Gender.female}


def test_names_are_chinese_and_unique_within_household() -> None:
    shared_surname = 0
    total_non_spouse = 0
    for h in county().households:
        names = [m.name for m in h.members]
        assert len(names) == len(set(names))
        for n in names:
            assert 2 <= len(n) <= 4
            assert all("\u4e00" <= ch <= "\u9fff" for ch in n)
        surname = names[0][0]
        for m in h.members[1:]:
            if m.relation in (Relation.child, Relation.grandchild, Relation.sibling):
                total_non_spouse += 1
                shared_surname += m.name[0] == surname
    assert shared_surname / total_non_spouse > 0.9


def test_labour_capacity_follows_age() -> None:
    weak_elderly = elderly = 0
    able_adults = adults = 0
    for h in county().households:
        for m in h.members:
            a = age(birth_date(m.id_number))
            if a < 16 or a > 75:
                assert m.labour_capacity is LabourCapacity.none
            elif a >= 60:
                elderly += 1
                weak_elderly += m.labour_capacity is LabourCapacity.weak
            elif h.assistance_type is not AssistanceType.tekun:
                adults += 1
                able_adults += m.labour_capacity is LabourCapacity.able
    assert weak_elderly / elderly > 0.5
    assert able_adults / adults > 0.75


def test_tekun_households_are_small_elderly_without_labour() -> None:
    tekun = [h for h in county().households if h.assistance_type is AssistanceType.tekun]
    assert tekun
    for h in tekun:
        assert 1 <= len(h.members) <= 2
        assert all(m.labour_capacity is LabourCapacity.none for m in h.members)
        assert all(age(birth_date(m.id_number)) >= 60 for m in h.members)


# --- Household axes ------------------------------------------------------------------------


def test_causes_and_primary_cause() -> None:
    for h in county().households:
        assert 1 <= len(h.causes) <= 3
        assert len(set(h.causes)) == len(h.causes)
        assert h.primary_cause in h.causes


def test_state_proportions() -> None:
    hs = county().households
    states = Counter(h.poverty_state for h in hs)
    assert len(states) >= 8
    assert 0.37 <= states[S.exited] / len(hs) <= 0.53
    assert 0.19 <= states[S.registered] / len(hs) <= 0.31
    assert 0.03 <= states[S.planned_exit] / len(hs) <= 0.11
    assert 0.03 <= states[S.exited_monitored] / len(hs) <= 0.10
    assert 0.01 <= states[S.removed] / len(hs) <= 0.08
    assert 0.04 <= share(hs, lambda h: h.poverty_state in INTAKE) <= 0.17


def test_assistance_proportions() -> None:
    hs = county().households
    assert 0.65 <= share(hs, lambda h: h.assistance_type is AssistanceType.general) <= 0.85
    assert 0.13 <= share(hs, lambda h: h.assistance_type is AssistanceType.dibao) <= 0.28
    assert 0.02 <= share(hs, lambda h: h.assistance_type is AssistanceType.tekun) <= 0.09


def test_cause_proportions() -> None:
    hs = county().households
    tags = Counter(c for h in hs for c in h.causes)
    assert len(tags) >= 10
    assert 0.35 <= tags[PovertyCause.illness] / len(hs) <= 0.55
    assert 0.13 <= tags[PovertyCause.disability] / len(hs) <= 0.28
    # 因病 is the leading cause, as in the surveys
    assert tags.most_common(1)[0][0] is PovertyCause.illness


def test_monitoring_category_rules() -> None:
    hs = county().households
    for h in hs:
        if h.monitoring_category is MonitoringCategory.unstable_exited:
            assert h.poverty_state in (S.exited, S.exited_monitored)
        if h.monitoring_category is MonitoringCategory.marginal:
            assert h.poverty_state in NOT_REGISTERED
    assert share(hs, lambda h: h.monitoring_category is MonitoringCategory.none) > 0.75
    assert share(hs, lambda h: h.monitoring_category is MonitoringCategory.sudden_hardship) < 0.05
    assert len({h.monitoring_category for h in hs}) >= 3


def test_identified_year() -> None:
    for h in county().households:
        if h.poverty_state in EVER_REGISTERED:
            assert h.identified_year is not None and 2014 <= h.identified_year <= 2020
        else:
            assert h.identified_year is None


def test_income_is_exact_and_banded() -> None:
    hs = county().households
    for h in hs:
        income = h.per_capita_net_income
        assert isinstance(income, Decimal)
        assert income.as_tuple().exponent == -2
        assert income >= 0

    def in_band(states: set[PovertyState], low: int, high: int) -> float:
        group = [h for h in hs if h.poverty_state in states]
        return sum(low <= h.per_capita_net_income <= high for h in group) / len(group)

    assert in_band({S.registered, S.planned_exit, S.returned}, 1500, 3300) > 0.8
    assert in_band({S.exited, S.exited_monitored}, 3400, 12000) > 0.85
    assert in_band(NOT_REGISTERED, 2000, 9000) > 0.8
