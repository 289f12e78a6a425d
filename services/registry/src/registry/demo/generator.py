"""Deterministic demo county (演示县) for development and demos: 广河县, 甘肃省临夏回族自治州.

Pure and side-effect free: no I/O, no database, no clock. The same ``seed`` and household
count always give the same regions (行政区划), households (贫困户/农户) and members (家庭成员),
whose resident ID numbers (公民身份号码) are valid and unique across the county.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Generic, TypeVar

from faker import Faker

from contracts.enums import (
    AssistanceType,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    RegionLevel,
    Relation,
)
from contracts.region import validate_region_code
from contracts.resident_id import check_digit

__all__ = [
    "REFERENCE_DATE",
    "DemoCounty",
    "HouseholdSeed",
    "MemberSeed",
    "RegionSeed",
    "generate_county",
]

#: "Today" for the generator, so ages and ID birth dates never depend on the clock.
REFERENCE_DATE = date(2026, 1, 1)


@dataclass(frozen=True)
class RegionSeed:
    """行政区划: one node of the region tree."""

    code: str  # 12-digit statistical division code
    name: str  # Chinese name, e.g. "广河县"
    level: RegionLevel
    parent_code: str | None
    population: int | None = None  # 户籍人口 of a village
    key_poor_village: bool = False  # 重点贫困村


@dataclass(frozen=True)
class MemberSeed:
    """家庭成员."""

    name: str
    id_number: str  # 18-char 公民身份号码
    relation: Relation
    labour_capacity: LabourCapacity


@dataclass(frozen=True)
class HouseholdSeed:
    """户: one household with its three status axes, 致贫原因, income and members."""

    region_code: str  # village code
    group_no: int  # 村民小组 number, 1..8
    poverty_state: PovertyState
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    causes: tuple[PovertyCause, ...]
    primary_cause: PovertyCause
    identified_year: int | None
    per_capita_net_income: Decimal
    members: tuple[MemberSeed, ...]  # head first

    @property
    def food_clothing_secure(self) -> bool:
        """不愁吃穿: nearly always for exited households, mostly for the others."""
        return self._survey_draw(0) < (0.99 if self.poverty_state in _EXITED else 0.9)

    @property
    def safe_drinking_water(self) -> bool:
        """饮水安全: the weakest of the registry's indicators in a dry county."""
        return self._survey_draw(1) < (0.97 if self.poverty_state in _EXITED else 0.75)

    def _survey_draw(self, indicator: int) -> float:
        # Its own generator per household (keyed by the head's ID number), so these
        # indicators do not shift the county's main random sequence.
        return random.Random(f"{self.members[0].id_number}/{indicator}").random()


@dataclass(frozen=True)
class DemoCounty:
    regions: tuple[RegionSeed, ...]  # parents before children
    households: tuple[HouseholdSeed, ...]


# --- Region tree -------------------------------------------------------------------------

_PROVINCE = ("620000000000", "甘肃省")
_CITY = ("622900000000", "临夏回族自治州")
_COUNTY = ("622924000000", "广河县")

# (township code digits 7–9, township name, village names). 镇 are numbered from 100,
# 乡 from 200, like the statistical division codes of the real county.
_TOWNSHIPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("100", "城关镇", ("西关村", "北关村", "南关村", "下古城村")),
    ("101", "三甲集镇", ("三甲集村", "康家村", "中庄村", "邵家村")),
    ("102", "祁家集镇", ("祁家集村", "何家村", "西坡村")),
    ("103", "庄窠集镇", ("庄窠集村", "大杨家村", "吊沟村", "石那奴村")),
    ("104", "买家巷镇", ("买家巷村", "苏家村", "马家坪村")),
    ("105", "齐家镇", ("齐家村", "阳坡村", "团结村", "梁家村")),
    ("200", "阿力麻土东乡族乡", ("阿力麻土村", "台子村", "红土坡村")),
    ("201", "水泉乡", ("水泉村", "周家村", "韩家庄村", "大坪村")),
    ("202", "官坊乡", ("官坊村", "魏家嘴村", "李家沟村")),
)


def _build_regions() -> tuple[RegionSeed, ...]:
    province, city, county = _PROVINCE[0], _CITY[0], _COUNTY[0]
    regions = [
        RegionSeed(province, _PROVINCE[1], RegionLevel.province, None),
        RegionSeed(city, _CITY[1], RegionLevel.city, province),
        RegionSeed(county, _COUNTY[1], RegionLevel.county, city),
    ]
    for digits, township_name, village_names in _TOWNSHIPS:
        township = county[:6] + digits + "000"
        regions.append(RegionSeed(township, township_name, RegionLevel.township, county))
        regions.extend(
            RegionSeed(
                township[:9] + f"{201 + i:03d}",
                name,
                RegionLevel.village,
                township,
                # fixed, plausible sizes (700–1,520 people; large villages ≥ 1,000 among
                # them) and every third village a key poor village (重点贫困村)
                population=600 + (int(digits) * 37 + i * 211) % 1200,
                key_poor_village=(int(digits) + i) % 3 == 0,
            )
            for i, name in enumerate(village_names)
        )
    for region in regions:
        validate_region_code(region.code)
    return tuple(regions)


# The tree does not depend on the seed: a county's geography is fixed, only people vary.
_REGIONS = _build_regions()
_VILLAGE_CODES = tuple(r.code for r in _REGIONS if r.level is RegionLevel.village)

# --- Weighted tables ---------------------------------------------------------------------

T = TypeVar("T")


class _Weighted(Generic[T]):
    """Values with relative weights; cumulative weights are precomputed for speed."""

    def __init__(self, table: Sequence[tuple[T, float]]) -> None:
        self.values = tuple(v for v, _ in table)
        self.cum = tuple(accumulate(w for _, w in table))

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.values, cum_weights=self.cum)[0]


S = PovertyState
_STATES = _Weighted[PovertyState](
    [
        (S.exited, 45),
        (S.registered, 25),
        (S.planned_exit, 7),
        (S.exited_monitored, 6),
        (S.returned, 3),
        (S.removed, 4),
        # 识别 intake pipeline: the remaining ~10 %
        (S.candidate, 2),
        (S.applied, 2),
        (S.surveyed, 1.5),
        (S.shortlisted, 1),
        (S.appraised, 1),
        (S.publicised, 1),
        (S.rejected, 1.5),
    ]
)
_EVER_REGISTERED = frozenset(
    {S.registered, S.planned_exit, S.exited, S.exited_monitored, S.returned, S.removed}
)
_POOR_NOW = frozenset({S.registered, S.planned_exit, S.returned})
_EXITED = frozenset({S.exited, S.exited_monitored})

_ASSISTANCE = _Weighted[AssistanceType](
    [(AssistanceType.general, 75), (AssistanceType.dibao, 20), (AssistanceType.tekun, 5)]
)

# 2014 is the big 建档立卡 year; later years are 动态调整 additions.
_IDENTIFIED_YEAR = _Weighted[int](
    [(2014, 55), (2015, 12), (2016, 10), (2017, 8), (2018, 7), (2019, 5), (2020, 3)]
)

C = PovertyCause
# Probability that a household carries each cause, shaped like the county surveys
# (因病 dominates, then 因残, 缺资金, 缺技术 …). Their sum (~1.75) is the mean tag count.
_CAUSE_PROBABILITY: dict[PovertyCause, float] = {
    C.illness: 0.45,
    C.disability: 0.20,
    C.lack_funds: 0.24,
    C.lack_skills: 0.20,
    C.lack_labour: 0.15,
    C.schooling: 0.10,
    C.no_sustainable_industry: 0.08,
    C.lack_land: 0.06,
    C.poor_transport: 0.06,
    C.low_motivation: 0.06,
    C.lack_water: 0.05,
    C.disaster: 0.04,
    C.other: 0.02,
}
_CAUSE_ORDER = {cause: i for i, cause in enumerate(PovertyCause)}
_ANY_CAUSE = _Weighted[PovertyCause](list(_CAUSE_PROBABILITY.items()))

# Surnames common in 临夏 (回族、东乡族 and 汉族 families); 马 is by far the most frequent.
_LOCAL_SURNAMES = _Weighted[str](
    [
        ("马", 22), ("王", 7), ("张", 6), ("李", 6), ("苏", 5), ("韩", 5), ("何", 5),
        ("陈", 4), ("杨", 4), ("刘", 3), ("赵", 3), ("祁", 2), ("妥", 2), ("冶", 2),
        ("康", 2), ("魏", 2), ("丁", 2), ("汪", 2), ("周", 2), ("虎", 1), ("喇", 1),
        ("沙", 1), ("孔", 1), ("蒲", 1),
    ]
)  # fmt: skip

# Output order of members after the head.
_RELATION_RANK = {
    Relation.head: 0,
    Relation.spouse: 1,
    Relation.parent: 2,
    Relation.child: 3,
    Relation.child_in_law: 4,
    Relation.grandchild: 5,
    Relation.sibling: 6,
    Relation.other: 7,
}

_MAX_MEMBERS = 8
_ADDRESS_CODE = _COUNTY[0][:6]  # 622924 is valid for every birth year in stdnum's table


# --- People ------------------------------------------------------------------------------


@dataclass
class _Person:
    """A member before names and ID numbers are assigned."""

    relation: Relation
    male: bool
    age: int  # full years at REFERENCE_DATE
    surname: str
    sick: bool = False  # carries the household's illness/disability


def _birth_date(rng: random.Random, age: int) -> date:
    """A birth date giving exactly ``age`` full years on REFERENCE_DATE."""
    latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
    earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


class _Namer:
    """Chinese names from faker, never repeating a full name inside one household."""

    def __init__(self, rng: random.Random, fake: Faker) -> None:
        self._rng = rng
        self._fake = fake

    def surname(self) -> str:
        # Mostly local surnames; a faker surname now and then for variety (migrants, in-laws).
        if self._rng.random() < 0.85:
            return _LOCAL_SURNAMES.pick(self._rng)
        return self._fake.last_name()

    def full_name(self, surname: str, male: bool, taken: set[str]) -> str:
        given = self._fake.first_name_male if male else self._fake.first_name_female
        for _ in range(30):
            name = surname + given()
            if name not in taken:
                break
        else:  # the pools are small (~60 names): fall back to a two-character given name
            while (name := surname + given()[:1] + given()[-1:]) in taken:
                pass
        taken.add(name)
        return name


class _IdIssuer:
    """公民身份号码 under address code 622924, unique across the county."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def issue(self, born: date, male: bool) -> str:
        prefix = _ADDRESS_CODE + born.strftime("%Y%m%d")
        while True:
            # 顺序码: odd for men (001…999), even for women (002…998).
            seq = self._rng.randrange(500) * 2 + 1 if male else self._rng.randrange(1, 500) * 2
            first17 = f"{prefix}{seq:03d}"
            if first17 not in self._used:
                self._used.add(first17)
                return first17 + check_digit(first17)


def _labour(rng: random.Random, person: _Person, tekun: bool) -> LabourCapacity:
    age = person.age
    if tekun or age < 16 or age > 75:
        return LabourCapacity.none
    if person.sick:
        return LabourCapacity.weak if rng.random() < 0.55 else LabourCapacity.none
    r = rng.random()
    if age >= 60:  # 60–75: mostly weak
        if r < 0.75:
            return LabourCapacity.weak
        return LabourCapacity.none if r < 0.87 else LabourCapacity.able
    if r < 0.93:
        return LabourCapacity.able
    return LabourCapacity.weak if r < 0.98 else LabourCapacity.none


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _tekun_people(rng: random.Random, namer: _Namer) -> list[_Person]:
    """特困供养: one or two elderly people without labour (五保老人)."""
    head_age = rng.randint(62, 80)
    head = _Person(Relation.head, rng.random() < 0.6, head_age, namer.surname())
    people = [head]
    if rng.random() < 0.35:
        if rng.random() < 0.7:
            age = _clamp(head_age + rng.randint(-6, 6), 60, 95)
            people.append(_Person(Relation.spouse, not head.male, age, namer.surname()))
        else:  # 兄弟姐妹 living together, both without family support
            age = _clamp(head_age + rng.randint(-10, 10), 60, 95)
            people.append(_Person(Relation.sibling, rng.random() < 0.5, age, head.surname))
    return people


def _family_people(rng: random.Random, namer: _Namer) -> list[_Person]:
    """一般户/低保户: a plausible rural family around the head (户主)."""
    # Heads cluster in their 40s–60s; int() of a triangular draw keeps the 25–80 range.
    head_age = _clamp(int(rng.triangular(25, 81, 52)), 25, 80)
    head_male = rng.random() < 0.85
    surname = namer.surname()
    people = [_Person(Relation.head, head_male, head_age, surname)]

    # Spouse: female heads are mostly widowed or divorced; older heads more often widowed.
    p_spouse = (0.88 if head_age < 65 else 0.65) if head_male else 0.25
    if rng.random() < p_spouse:
        # Husbands tend to be a little older than wives; always within ±8 years.
        offset = rng.randint(-8, 3) if head_male else rng.randint(-3, 8)
        spouse_age = max(20, head_age + offset)
        people.append(_Person(Relation.spouse, not head_male, spouse_age, namer.surname()))

    # Children still registered in the household: fewer for older heads (分户 on marriage).
    counts = (0, 1, 2, 3, 4)
    weights = (8, 25, 35, 22, 10) if head_age < 60 else (45, 40, 15, 0, 0)
    n_children = rng.choices(counts, weights)[0]
    child_age = rng.randint(max(0, head_age - 40), head_age - 21)
    for _ in range(n_children):
        if child_age < 0:
            break
        child = _Person(Relation.child, rng.random() < 0.52, child_age, surname)
        people.append(child)
        # A married adult son (rarely a daughter with 上门女婿) brings spouse and grandchildren.
        if child_age >= 22 and rng.random() < (0.6 if child.male else 0.12):
            in_law_age = max(20, child_age + rng.randint(-5, 3))
            in_law = _Person(Relation.child_in_law, not child.male, in_law_age, namer.surname())
            people.append(in_law)
            n_grand = rng.choices((0, 1, 2, 3), (20, 35, 35, 10))[0]
            # Grandchildren are at least 18 years younger than their parent (the child).
            grand_age = rng.randint(0, max(0, child_age - 20))
            for _ in range(n_grand):
                if grand_age < 0:
                    break
                people.append(_Person(Relation.grandchild, rng.random() < 0.52, grand_age, surname))
                grand_age -= rng.randint(1, 4)
        child_age -= rng.randint(1, 4)

    # Elderly parents (赡养): only while they can plausibly be alive (≤ 95).
    if head_age <= 65 and rng.random() < (0.35 if head_age < 50 else 0.2):
        father_age = min(95, head_age + rng.randint(20, 35))
        mother_age = _clamp(father_age + rng.randint(-6, 2), head_age + 18, 95)
        roll = rng.random()
        # Both parents, a widowed father, or (most often) a widowed mother.
        if roll < 0.55:
            people.append(_Person(Relation.parent, True, father_age, surname))
        if roll < 0.3 or roll >= 0.55:
            people.append(_Person(Relation.parent, False, mother_age, namer.surname()))

    # An unmarried sibling (光棍/残疾兄弟) now and then.
    if head_age < 60 and rng.random() < 0.04:
        sibling_age = _clamp(head_age + rng.randint(-10, 10), 16, 90)
        people.append(_Person(Relation.sibling, rng.random() < 0.7, sibling_age, surname))

    # Cap the size; children and grandchildren come before parents in the list, so a
    # grandchild is never kept without the child it descends from.
    return people[:_MAX_MEMBERS]


# --- Household axes ----------------------------------------------------------------------


def _causes(rng: random.Random, tekun: bool) -> tuple[tuple[PovertyCause, ...], PovertyCause]:
    if tekun:
        # 特困: no labour by definition; illness or disability often behind it.
        chosen = [C.lack_labour]
        for extra in (C.illness, C.disability):
            if rng.random() < 0.4:
                chosen.append(extra)
    else:
        chosen = [c for c, p in _CAUSE_PROBABILITY.items() if rng.random() < p]
        if not chosen:
            chosen = [_ANY_CAUSE.pick(rng)]
        while len(chosen) > 3:
            chosen.pop(rng.randrange(len(chosen)))
    weights = [_CAUSE_PROBABILITY[c] for c in chosen]
    primary = rng.choices(chosen, weights)[0]  # the most common cause usually leads
    return tuple(sorted(chosen, key=_CAUSE_ORDER.__getitem__)), primary


def _monitoring(rng: random.Random, state: PovertyState) -> MonitoringCategory:
    r = rng.random()
    if state in _EXITED:
        # 脱贫不稳定户 only among exited households; most 脱贫监测 ones carry it.
        p_unstable = 0.55 if state is S.exited_monitored else 0.07
        if r < p_unstable:
            return MonitoringCategory.unstable_exited
        if r < p_unstable + 0.02:
            return MonitoringCategory.sudden_hardship
        return MonitoringCategory.none
    if state in _POOR_NOW:
        return MonitoringCategory.none  # already counted as poor: no monitoring category
    # Intake states and 清退: 边缘户 are found among the not-registered.
    if r < 0.25:
        return MonitoringCategory.marginal
    if r < 0.28:
        return MonitoringCategory.sudden_hardship
    return MonitoringCategory.none


def _income(rng: random.Random, state: PovertyState) -> Decimal:
    """人均纯收入 in yuan, built from integer fen so it is exact with two decimals."""
    r = rng.random()
    if state in _POOR_NOW:
        fen = rng.randint(150_000, 330_000) if r < 0.9 else rng.randint(80_000, 400_000)
    elif state in _EXITED:
        # min of two draws skews towards the lower end, like real post-exit incomes.
        if r < 0.94:
            fen = min(rng.randint(340_000, 1_200_000), rng.randint(340_000, 1_200_000))
        else:
            fen = rng.randint(1_200_000, 1_800_000)
    else:
        fen = rng.randint(200_000, 900_000) if r < 0.92 else rng.randint(100_000, 1_500_000)
    return Decimal(f"{fen // 100}.{fen % 100:02d}")


def _assign_villages(rng: random.Random, count: int) -> list[str]:
    """Every village gets households (when there are enough), some far more than others."""
    villages = _VILLAGE_CODES
    weights = [rng.uniform(0.4, 1.8) for _ in villages]
    codes = list(villages[: min(count, len(villages))])
    codes += rng.choices(villages, weights, k=count - len(codes))
    codes.sort()  # households listed village by village
    return codes


# --- Entry point -------------------------------------------------------------------------


def generate_county(seed: int = 20261122, households: int = 1200) -> DemoCounty:
    """Generate the demo 广河县 with ``households`` households spread over its villages."""
    if households < 0:
        raise ValueError("households must be >= 0")
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    namer = _Namer(rng, fake)
    ids = _IdIssuer(rng)

    # 村民小组 per village: 4–8 groups each.
    group_counts = {code: rng.randint(4, 8) for code in _VILLAGE_CODES}

    result: list[HouseholdSeed] = []
    for village in _assign_villages(rng, households):
        state = _STATES.pick(rng)
        assistance = _ASSISTANCE.pick(rng)
        tekun = assistance is AssistanceType.tekun
        causes, primary = _causes(rng, tekun)

        people = _tekun_people(rng, namer) if tekun else _family_people(rng, namer)
        if not tekun and (C.illness in causes or C.disability in causes) and rng.random() < 0.8:
            # The 病人/残疾人 is an adult of working age whose labour is reduced.
            adults = [p for p in people if 16 <= p.age <= 75]
            if adults:
                rng.choice(adults).sick = True
        people.sort(key=lambda p: _RELATION_RANK[p.relation])

        taken: set[str] = set()
        members = tuple(
            MemberSeed(
                name=namer.full_name(p.surname, p.male, taken),
                id_number=ids.issue(_birth_date(rng, p.age), p.male),
                relation=p.relation,
                labour_capacity=_labour(rng, p, tekun),
            )
            for p in people
        )
        result.append(
            HouseholdSeed(
                region_code=village,
                group_no=rng.randint(1, group_counts[village]),
                poverty_state=state,
                assistance_type=assistance,
                monitoring_category=_monitoring(rng, state),
                causes=causes,
                primary_cause=primary,
                identified_year=_IDENTIFIED_YEAR.pick(rng) if state in _EVER_REGISTERED else None,
                per_capita_net_income=_income(rng, state),
                members=members,
            )
        )
    return DemoCounty(regions=_REGIONS, households=tuple(result))
