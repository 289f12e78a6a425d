"""The education service's policy parameters (DOMAIN §3), seed values as defaults.

Every age, amount and list is keyed by region subtree and year (``PUT /policy/{key}`` by a
``county_admin``). The seeds come from several provinces: where they disagree the default
is the one a county document states in full (汉中 [000] for the 两免一补 and 高中 amounts),
and where a seed amount is masked ("20xx元", "1XX元") the default says so in its description.
The rules themselves (``education.compulsory``, ``education.grants``) are pure: a service
reads the values here (:func:`aid_policy`) and hands them over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import AidProgramme, SchoolStage
from contracts.money import NonNegativeMoney
from education.audit import audit
from education.compulsory import CompulsoryAges
from education.grants import (
    PROGRAMME_STAGES,
    AidPolicy,
    AmountRange,
)
from education.models import policy_table
from kit.policy import Overrides, Parameter, PolicyBook

Age = Annotated[int, Field(ge=0, le=30)]
Days = Annotated[int, Field(ge=0, le=366)]

COMPULSORY_MIN_AGE = "compulsory.min_age"
COMPULSORY_MAX_AGE = "compulsory.max_age"
TERM_STARTS = "compulsory.term_starts"
PRESCHOOL_ALLOWANCE = "aid.preschool.allowance"
BOARDING_ALLOWANCE = "aid.boarding.allowance"
NUTRITION_DAILY = "aid.nutrition.daily"
NUTRITION_DAYS = "aid.nutrition.days"
SENIOR_HIGH_GRANT = "aid.senior_high.grant"
SENIOR_HIGH_FEE_WAIVER = "aid.senior_high.fee_waiver"
VOCATIONAL_FEE_WAIVER = "aid.vocational.fee_waiver"
VOCATIONAL_GRANT = "aid.vocational.grant"
VOCATIONAL_ONE_OFF = "aid.vocational.one_off"
YULU = "aid.yulu.per_year"
CHARITY_SCHOOL = "aid.charity.school"
CHARITY_UNIVERSITY_ENTRY = "aid.charity.university_entry"
CHARITY_UNIVERSITY_YEARLY = "aid.charity.university_yearly"
PROGRAMME_STAGES_KEY = "aid.programme_stages"
NOT_STACKING = "aid.not_stacking"
CASE_DUE_DAYS = "cases.due_days"

PARAMETERS = [
    Parameter(
        COMPULSORY_MIN_AGE,
        6,
        "First age of compulsory education (义务教育): a child is of compulsory age from "
        "this birthday on",
        "岁",
        Age,
    ),
    Parameter(
        COMPULSORY_MAX_AGE,
        15,
        "Last age of compulsory education: a child stays of compulsory age until the end "
        "of the term in which they turn one year older (6–15 岁)",
        "岁",
        Age,
    ),
    Parameter(
        TERM_STARTS,
        [(3, 1), (9, 1)],
        "The days school terms start, (month, day): a child who turns 16 during a term stays "
        "of compulsory age until the next term starts (spring and autumn terms)",
        "",
        list[tuple[Annotated[int, Field(ge=1, le=12)], Annotated[int, Field(ge=1, le=31)]]],
    ),
    Parameter(
        PRESCHOOL_ALLOWANCE,
        Decimal("750.00"),
        "学前资助: living allowance a year for a registered-poor child in preschool (汉中 "
        "学前一年 750元 [000]; 500元 a child observed in [001])",
        "元/生/年",
        NonNegativeMoney,
    ),
    Parameter(
        BOARDING_ALLOWANCE,
        {SchoolStage.primary: Decimal("1000.00"), SchoolStage.junior: Decimal("1250.00")},
        "两免一补: boarding students' living allowance (寄宿生生活补助) by stage; tuition and "
        "textbooks are free for all (两免)",
        "元/生/年",
        dict[SchoolStage, NonNegativeMoney],
    ),
    Parameter(
        NUTRITION_DAILY,
        Decimal("4.00"),
        "营养改善计划: the meal subsidy a school day (每天4元)",
        "元/天",
        NonNegativeMoney,
    ),
    Parameter(
        NUTRITION_DAYS,
        200,
        "营养改善计划: school days a year the meal subsidy is paid for (全年200天)",
        "天/年",
        Days,
    ),
    Parameter(
        SENIOR_HIGH_GRANT,
        Decimal("2000.00"),
        "普通高中 国家助学金 a year (汉中 2000元 [000]; [001] names tiers 1000、2000、3XX元)",
        "元/生/年",
        NonNegativeMoney,
    ),
    Parameter(
        SENIOR_HIGH_FEE_WAIVER,
        Decimal("1600.00"),
        '普通高中 免学杂费: the most waived a year ([001] "每生每年1600--2XX元", upper bound '
        "masked; the unmasked lower bound is the default)",
        "元/生/年",
        NonNegativeMoney,
    ),
    Parameter(
        VOCATIONAL_FEE_WAIVER,
        Decimal("1500.00"),
        "中职 免学费 a year (observed 1500元 [001])",
        "元/生/年",
        NonNegativeMoney,
    ),
    Parameter(
        VOCATIONAL_GRANT,
        Decimal("2000.00"),
        '中职 国家助学金 a year (汉中 2000元 [000]; Gansu "20xx元" masked [002])',
        "元/生/年",
        NonNegativeMoney,
    ),
    Parameter(
        VOCATIONAL_ONE_OFF,
        Decimal("3000.00"),
        "中高职 一次性扶贫助学补助, once a student, on top of the national vocational aid",
        "元/生",
        NonNegativeMoney,
    ),
    Parameter(
        YULU,
        Decimal("3000.00"),
        "雨露计划: a registered-poor student at 高职 or university, a 学年",
        "元/生/学年",
        NonNegativeMoney,
    ),
    Parameter(
        CHARITY_SCHOOL,
        AmountRange(minimum=Decimal("600.00"), maximum=Decimal("1000.00")),
        "社会慈善助学 (爱心协会) for a poor family's child in 中小学 or 普通高中, a 学年",
        "元/生/学年",
        AmountRange,
    ),
    Parameter(
        CHARITY_UNIVERSITY_ENTRY,
        Decimal("5000.00"),
        "社会慈善: 特困生 or 孤儿 entering university, once",
        "元/生",
        NonNegativeMoney,
    ),
    Parameter(
        CHARITY_UNIVERSITY_YEARLY,
        AmountRange(minimum=Decimal("1000.00"), maximum=Decimal("2000.00")),
        '社会慈善: 特困生 or 孤儿 at university, a 学年 (1000–"20xx"元 [002]: the upper '
        "bound is masked; 2000元 is a default)",
        "元/生/学年",
        AmountRange,
    ),
    Parameter(
        PROGRAMME_STAGES_KEY,
        PROGRAMME_STAGES,
        "The stages (学段) each programme is for: a student of another stage is not eligible",
        "",
        dict[AidProgramme, list[SchoolStage]],
    ),
    Parameter(
        NOT_STACKING,
        [],
        "Pairs of programmes a student may not receive in the same year; every other "
        "programme stacks (叠加 [001]). None by default",
        "",
        list[tuple[AidProgramme, AidProgramme]],
    ),
    Parameter(
        CASE_DUE_DAYS,
        30,
        "劝返 (控辍保学): days from a case's opening by which the child should be back at "
        "school, in an alternative mode or exempt; an open case past it is overdue "
        "(default: not in seeds)",
        "天",
        Days,
    ),
]

policy = PolicyBook(policy_table, PARAMETERS, audit)


#: The aid parameters, by the field of :class:`AidPolicy` each one fills.
_AID_FIELDS = {
    "preschool_allowance": PRESCHOOL_ALLOWANCE,
    "boarding_allowance": BOARDING_ALLOWANCE,
    "nutrition_daily": NUTRITION_DAILY,
    "nutrition_days": NUTRITION_DAYS,
    "senior_high_grant": SENIOR_HIGH_GRANT,
    "senior_high_fee_waiver": SENIOR_HIGH_FEE_WAIVER,
    "vocational_fee_waiver": VOCATIONAL_FEE_WAIVER,
    "vocational_grant": VOCATIONAL_GRANT,
    "vocational_one_off": VOCATIONAL_ONE_OFF,
    "yulu": YULU,
    "charity_school": CHARITY_SCHOOL,
    "charity_university_entry": CHARITY_UNIVERSITY_ENTRY,
    "charity_university_yearly": CHARITY_UNIVERSITY_YEARLY,
    "programme_stages": PROGRAMME_STAGES_KEY,
}


def _aid_policy(values: dict[str, Any]) -> AidPolicy:
    return AidPolicy(
        **{name: values[key] for name, key in _AID_FIELDS.items()},
        not_stacking=frozenset(frozenset(pair) for pair in values[NOT_STACKING]),
    )


def _compulsory_ages(values: dict[str, Any]) -> CompulsoryAges:
    return CompulsoryAges(
        first_age=values[COMPULSORY_MIN_AGE],
        last_age=values[COMPULSORY_MAX_AGE],
        term_starts=tuple(values[TERM_STARTS]),
    )


_DEFAULTS = {parameter.key: parameter.default for parameter in PARAMETERS}
#: The rules' parameters where no region overrides them (the seeds' values).
DEFAULT_AID_POLICY = _aid_policy(_DEFAULTS)
DEFAULT_COMPULSORY_AGES = _compulsory_ages(_DEFAULTS)


async def _values(
    session: AsyncSession, keys: Iterable[str], region_code: str, year: int
) -> dict[str, Any]:
    return {
        key: await policy.value(session, key, region_code=region_code, year=year) for key in keys
    }


_COMPULSORY_KEYS = (COMPULSORY_MIN_AGE, COMPULSORY_MAX_AGE, TERM_STARTS)


async def compulsory_ages(session: AsyncSession, region_code: str, year: int) -> CompulsoryAges:
    """The ages and terms of compulsory education in force for a region and year."""
    return _compulsory_ages(await _values(session, _COMPULSORY_KEYS, region_code, year))


@dataclass(frozen=True)
class CompulsoryAgesEverywhere:
    """The ages of compulsory education of every region and year, their overrides loaded
    at once: for a list over many villages (one query, not one a person)."""

    overrides: dict[str, Overrides]

    def of(self, region_code: str, year: int) -> CompulsoryAges:
        return _compulsory_ages(
            {key: found.value(region_code, year) for key, found in self.overrides.items()}
        )

    def _values(self, key: str) -> list[int]:
        found = self.overrides[key]
        return [found.default, *(value for _, _, value in found.rows)]

    @property
    def youngest_first_age(self) -> int:
        """The lowest first age anywhere: nobody younger is of compulsory age."""
        return min(self._values(COMPULSORY_MIN_AGE))

    @property
    def oldest_last_age(self) -> int:
        """The highest last age anywhere (a child stays until the term after it ends)."""
        return max(self._values(COMPULSORY_MAX_AGE))


async def compulsory_ages_everywhere(session: AsyncSession) -> CompulsoryAgesEverywhere:
    return CompulsoryAgesEverywhere(await policy.overrides_of(session, _COMPULSORY_KEYS))


async def case_due_days(session: AsyncSession, region_code: str, year: int) -> int:
    """Days a 劝返 case has, from its opening, in a region and year."""
    return await policy.value(session, CASE_DUE_DAYS, region_code=region_code, year=year)


@dataclass(frozen=True)
class AidPolicies:
    """Every override of every aid parameter, loaded at once: the policy of many regions
    and years (a report over a county's students) without a query each."""

    overrides: dict[str, Overrides]

    def of(self, region_code: str, year: int) -> AidPolicy:
        return _aid_policy({key: o.value(region_code, year) for key, o in self.overrides.items()})


async def aid_policies(session: AsyncSession) -> AidPolicies:
    keys = (*_AID_FIELDS.values(), NOT_STACKING)
    return AidPolicies(await policy.overrides_of(session, keys))


async def aid_policy(session: AsyncSession, region_code: str, year: int) -> AidPolicy:
    """Every aid standard in force for a region and year, for the rules of grants."""
    return (await aid_policies(session)).of(region_code, year)
