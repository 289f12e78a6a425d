"""Aid grants by programme (教育资助, DOMAIN §3.2): standards, eligibility, stacking, the
entitlements of a student and the check of a reported total. Pure rules over values.

"不随意提标扩面" [003]: a grant above its programme's standard, or to a student the programme
is not for, is refused with the rule in the detail. A programme's standard is a year's
(学年) amount: what a student receives from it in one school year, in as many payments as
the school makes, adds up to at most that; a one-off programme's standard holds over every
year. Programmes stack (叠加 [001]) unless the policy names a pair that does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.enums import AidProgramme, SchoolStage
from contracts.money import NonNegativeMoney
from contracts.reconcile import Part, Reconciliation, Unit, reconcile
from education import errors

#: Paid once a student, whatever the year (一次性).
ONE_OFF = frozenset({AidProgramme.vocational_one_off, AidProgramme.charity_university_entry})
#: Given by charities (爱心协会), not owed: outside 资助全覆盖.
CHARITY = frozenset(
    {
        AidProgramme.charity_school,
        AidProgramme.charity_university_entry,
        AidProgramme.charity_university_yearly,
    }
)
#: For 特困生 and 孤儿 only.
HARDSHIP_ONLY = frozenset(
    {AidProgramme.charity_university_entry, AidProgramme.charity_university_yearly}
)

_COMPULSORY = [SchoolStage.primary, SchoolStage.junior]
#: The default of ``aid.programme_stages``: the stages each programme is for.
PROGRAMME_STAGES: dict[AidProgramme, list[SchoolStage]] = {
    AidProgramme.preschool: [SchoolStage.preschool],
    AidProgramme.boarding_allowance: _COMPULSORY,
    AidProgramme.nutrition: _COMPULSORY,
    AidProgramme.senior_high_grant: [SchoolStage.senior_high],
    AidProgramme.senior_high_fee_waiver: [SchoolStage.senior_high],
    AidProgramme.vocational_fee_waiver: [SchoolStage.secondary_vocational],
    AidProgramme.vocational_grant: [SchoolStage.secondary_vocational],
    AidProgramme.vocational_one_off: [
        SchoolStage.secondary_vocational,
        SchoolStage.higher_vocational,
    ],
    AidProgramme.yulu: [SchoolStage.higher_vocational, SchoolStage.university],
    AidProgramme.charity_school: [*_COMPULSORY, SchoolStage.senior_high],
    AidProgramme.charity_university_entry: [SchoolStage.university],
    AidProgramme.charity_university_yearly: [SchoolStage.university],
}


class AmountRange(BaseModel):
    """A standard given as a range ("600-1000元"): the most a grant may be is ``maximum``."""

    model_config = ConfigDict(frozen=True)

    minimum: NonNegativeMoney = Field(description="元")
    maximum: NonNegativeMoney = Field(description="元")

    @model_validator(mode="after")
    def _ordered(self) -> AmountRange:
        if self.minimum > self.maximum:
            raise ValueError("minimum is above maximum")
        return self

    @classmethod
    def exactly(cls, amount: Decimal) -> AmountRange:
        return cls(minimum=amount, maximum=amount)


@dataclass(frozen=True)
class AidPolicy:
    """The aid parameters in force for a region and year (``education.policy``)."""

    preschool_allowance: Decimal
    boarding_allowance: dict[SchoolStage, Decimal]
    nutrition_daily: Decimal
    nutrition_days: int
    senior_high_grant: Decimal
    senior_high_fee_waiver: Decimal
    vocational_fee_waiver: Decimal
    vocational_grant: Decimal
    vocational_one_off: Decimal
    yulu: Decimal
    charity_school: AmountRange
    charity_university_entry: Decimal
    charity_university_yearly: AmountRange
    programme_stages: dict[AidProgramme, list[SchoolStage]]
    #: Pairs of programmes that do not stack (each pair a frozenset of two).
    not_stacking: frozenset[frozenset[AidProgramme]] = frozenset()


@dataclass(frozen=True)
class Student:
    """What the rules read of a student: stage, boarding, and what the registry says."""

    stage: SchoolStage
    #: 建档立卡 (with 脱贫不脱政策, DOMAIN §1.6) as the registry last said.
    registered_poor: bool
    boarding: bool = False
    #: 特困生 or 孤儿 (the university charity programmes).
    hardship: bool = False


@dataclass(frozen=True)
class Granted:
    """A grant a student has received already: its programme, school year and amount."""

    programme: AidProgramme
    school_year: int  # the year the 学年 begins
    amount: Decimal


def ineligibility(programme: AidProgramme, student: Student, policy: AidPolicy) -> str | None:
    """Why the programme is not for the student, or ``None`` when it is."""
    if not student.registered_poor:
        return "the student's household is not registered poor (建档立卡)"
    if student.stage not in policy.programme_stages.get(programme, []):
        return f"{programme.value} is not for the {student.stage.value} stage"
    if programme is AidProgramme.boarding_allowance:
        if not student.boarding:
            return "the boarding allowance is for boarding students (寄宿生) only"
        if student.stage not in policy.boarding_allowance:
            return f"no boarding allowance is set for the {student.stage.value} stage"
    if programme in HARDSHIP_ONLY and not student.hardship:
        return f"{programme.value} is for 特困生 and 孤儿 only"
    return None


def standard(programme: AidProgramme, student: Student, policy: AidPolicy) -> AmountRange:
    """The standard of the programme for the student (a year's, or the one-off amount).
    Call it for an eligible student: the boarding allowance needs the student's stage."""
    fixed = {
        AidProgramme.preschool: policy.preschool_allowance,
        AidProgramme.nutrition: policy.nutrition_daily * policy.nutrition_days,
        AidProgramme.senior_high_grant: policy.senior_high_grant,
        AidProgramme.senior_high_fee_waiver: policy.senior_high_fee_waiver,
        AidProgramme.vocational_fee_waiver: policy.vocational_fee_waiver,
        AidProgramme.vocational_grant: policy.vocational_grant,
        AidProgramme.vocational_one_off: policy.vocational_one_off,
        AidProgramme.yulu: policy.yulu,
        AidProgramme.charity_university_entry: policy.charity_university_entry,
    }
    if programme in fixed:
        return AmountRange.exactly(fixed[programme])
    if programme is AidProgramme.boarding_allowance:
        return AmountRange.exactly(policy.boarding_allowance[student.stage])
    if programme is AidProgramme.charity_school:
        return policy.charity_school
    return policy.charity_university_yearly


def _counts_towards(grant: Granted, programme: AidProgramme, school_year: int) -> bool:
    """Does an earlier grant use up the same standard (a one-off's holds over every year)?"""
    return grant.programme is programme and (
        programme in ONE_OFF or grant.school_year == school_year
    )


def check_grant(
    programme: AidProgramme,
    amount: Decimal,
    school_year: int,
    student: Student,
    policy: AidPolicy,
    granted: Iterable[Granted] = (),
) -> AmountRange:
    """Refuse a grant the policy does not allow (不随意提标扩面 [003]); return the standard.

    Raises ``NOT_ELIGIBLE`` for a student the programme is not for, ``GRANT_ABOVE_STANDARD``
    when it and what the student received from the programme already (this school year, or
    ever for a one-off) exceed the standard, ``GRANTS_DO_NOT_STACK`` when the student
    received a programme this school year that the policy says does not stack with it.
    """
    why = ineligibility(programme, student, policy)
    if why is not None:
        raise errors.NOT_ELIGIBLE(f"不随意提标扩面: {why}")
    granted = list(granted)
    rule = standard(programme, student, policy)
    already = sum(
        (g.amount for g in granted if _counts_towards(g, programme, school_year)), Decimal(0)
    )
    if already + amount > rule.maximum:
        span = "once" if programme in ONE_OFF else f"in school year {school_year}"
        raise errors.GRANT_ABOVE_STANDARD(
            f"不随意提标扩面: {programme.value} is at most {rule.maximum}元 {span}; "
            f"{already}元 granted already, {amount}元 asked"
        )
    for other in {g.programme for g in granted if g.school_year == school_year}:
        if frozenset({programme, other}) in policy.not_stacking:
            raise errors.GRANTS_DO_NOT_STACK(
                f"{programme.value} does not stack with {other.value}, "
                f"granted in school year {school_year}"
            )
    return rule


def entitlements(student: Student, policy: AidPolicy) -> dict[AidProgramme, AmountRange]:
    """Every programme the student is owed (资助全覆盖 [003]), with its standard. Charity
    is given, not owed; programmes that do not stack are owed both (the school chooses)."""
    return {
        programme: standard(programme, student, policy)
        for programme in AidProgramme
        if programme not in CHARITY and ineligibility(programme, student, policy) is None
    }


def missing_entitlements(
    student: Student, policy: AidPolicy, school_year: int, granted: Iterable[Granted]
) -> list[AidProgramme]:
    """The programmes owed to the student that they have received nothing from in the
    school year (a one-off: ever), for the 资助全覆盖 report."""
    granted = list(granted)
    return [
        programme
        for programme in entitlements(student, policy)
        if not any(_counts_towards(g, programme, school_year) for g in granted)
    ]


@dataclass(frozen=True)
class ReportLine:
    """One line of a reported aid total: how many students, and its amount as parts (an
    amount, or a count at a rate: "13人×1500元")."""

    label: str
    students: int
    parts: Sequence[Part]


@dataclass(frozen=True)
class ReportCheck:
    """A reported total of students and amount against its lines (DOMAIN §0: never stored
    as truth). ``amount.adds_up`` and ``students_add_up`` are both needed."""

    stated_students: int
    computed_students: int
    amount: Reconciliation

    @property
    def students_add_up(self) -> bool:
        return self.stated_students == self.computed_students

    @property
    def adds_up(self) -> bool:
        return self.students_add_up and self.amount.adds_up


def check_reported_total(
    stated_students: int,
    stated_amount: Decimal,
    lines: Sequence[ReportLine],
    unit: Unit = Unit.yuan,
) -> ReportCheck:
    """Does a reported aid total (students and amount in ``unit``) equal its lines?"""
    return ReportCheck(
        stated_students=stated_students,
        computed_students=sum(line.students for line in lines),
        amount=reconcile(stated_amount, unit, [part for line in lines for part in line.parts]),
    )
