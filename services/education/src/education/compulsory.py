"""Compulsory education (义务教育, DOMAIN §3.1): who is of compulsory age, and the
义务教育有保障 dimension of a household (DOMAIN §1.5). Pure rules over values.

A child is of compulsory age from their ``first_age`` birthday (6) while they have not
finished junior high, until the end of the school term in which they turn ``last_age + 1``
(16): a child who turns 16 mid-term is still owed the rest of the term, and one who
finished junior high at 14 is not of compulsory age any more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.status import DimensionFact, DimensionState, Reason

#: The ways a child who cannot attend normally is still schooled: each needs evidence
#: (台账及佐证资料 [001]) before it counts.
ALTERNATIVE_MODES = frozenset(
    {EnrolmentStatus.home_teaching, EnrolmentStatus.distance, EnrolmentStatus.special_school}
)

#: Stages whose completion ends compulsory education: junior high and every stage after it.
COMPLETES_COMPULSORY = frozenset(
    {
        SchoolStage.junior,
        SchoolStage.senior_high,
        SchoolStage.secondary_vocational,
        SchoolStage.higher_vocational,
        SchoolStage.university,
    }
)


@dataclass(frozen=True)
class CompulsoryAges:
    """The ages of compulsory education, as the policy sets them (``compulsory.min_age``,
    ``compulsory.max_age``), and the days its school terms start (``compulsory.term_starts``,
    ``(month, day)``)."""

    first_age: int
    last_age: int
    term_starts: tuple[tuple[int, int], ...]


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Full years of age on ``on`` (a 29 February birthday counts on 1 March)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def term_start(on: dt.date, term_starts: Sequence[tuple[int, int]]) -> dt.date:
    """The first day of the school term ``on`` falls in: the latest term start not after
    it (the summer holidays belong to the spring term)."""
    starts = [
        dt.date(year, month, day) for year in (on.year - 1, on.year) for month, day in term_starts
    ]
    return max(start for start in starts if start <= on)


def is_compulsory_age(
    birth_date: dt.date,
    on: dt.date,
    ages: CompulsoryAges,
    *,
    finished_stage: SchoolStage | None = None,
) -> bool:
    """Is a child of compulsory-education age on ``on``? ``finished_stage`` is the highest
    stage they completed (毕业), if any."""
    if finished_stage in COMPLETES_COMPULSORY:
        return False
    if age_on(birth_date, on) < ages.first_age:
        return False
    # Turning last_age + 1 ends it only with the term: the age at the term's start decides.
    return age_on(birth_date, term_start(on, ages.term_starts)) <= ages.last_age


#: Stages past junior high: a student of one of them has finished junior high.
PAST_JUNIOR = frozenset(COMPLETES_COMPULSORY - {SchoolStage.junior})


def finished_stage(stage: SchoolStage, status: EnrolmentStatus) -> SchoolStage | None:
    """The highest stage a student of ``stage`` has finished, as far as compulsory
    education is concerned: their stage once they graduated from it, junior high for
    anyone past it."""
    if status is EnrolmentStatus.graduated:
        return stage
    return SchoolStage.junior if stage in PAST_JUNIOR else None


@dataclass(frozen=True)
class Child:
    """What the dimension reads of a household member: their birth date, the highest stage
    they finished, and their 学籍 as matched to the registry (``None``: no match)."""

    birth_date: dt.date
    finished_stage: SchoolStage | None = None
    status: EnrolmentStatus | None = None
    #: An alternative mode's evidence (佐证资料) is on file.
    evidenced: bool = False


def unschooled_reason(child: Child, on: dt.date, ages: CompulsoryAges) -> Reason | None:
    """Why a member is on the compulsory-education check list on ``on``: of compulsory age
    and dropped out (``DROPOUT``), out of school otherwise (``OUT_OF_SCHOOL``), or without
    a matched 学籍 (``NO_STUDENT_RECORD``); ``None`` when schooled or not of that age."""
    if not is_compulsory_age(child.birth_date, on, ages, finished_stage=child.finished_stage):
        return None
    if child.status is EnrolmentStatus.dropped_out:
        return Reason.DROPOUT
    if child.status is None:
        return Reason.NO_STUDENT_RECORD
    return Reason.OUT_OF_SCHOOL if is_out_of_school(child) else None


def is_schooled(status: EnrolmentStatus, evidenced: bool) -> bool:
    """Enrolled, or in an alternative mode whose evidence (佐证资料) is on file."""
    return status is EnrolmentStatus.enrolled or (status in ALTERNATIVE_MODES and evidenced)


def is_out_of_school(child: Child) -> bool:
    """Neither enrolled nor in an evidenced alternative mode (a 学籍 is recorded)."""
    return child.status is not None and not is_schooled(child.status, child.evidenced)


@dataclass(frozen=True)
class CompulsoryCounts:
    """A household's compulsory-age members, by where they are (counts, never names)."""

    compulsory_age: int = 0
    #: Enrolled, or in an alternative mode with its evidence (入学).
    in_school: int = 0
    dropped_out: int = 0
    #: With a 学籍, neither in school nor dropped out (unevidenced mode, left after primary).
    out_of_school: int = 0
    #: Without a matched 学籍.
    unmatched: int = 0


def compulsory_counts(
    children: Iterable[Child], on: dt.date, ages: CompulsoryAges
) -> CompulsoryCounts:
    """Count the compulsory-age children on ``on`` by where they are."""
    of_age = [
        c
        for c in children
        if is_compulsory_age(c.birth_date, on, ages, finished_stage=c.finished_stage)
    ]
    dropped = sum(c.status is EnrolmentStatus.dropped_out for c in of_age)
    out = sum(is_out_of_school(c) for c in of_age)
    unmatched = sum(c.status is None for c in of_age)
    return CompulsoryCounts(
        compulsory_age=len(of_age),
        in_school=len(of_age) - out - unmatched,
        dropped_out=dropped,
        out_of_school=out - dropped,
        unmatched=unmatched,
    )


def education_fact(
    children: Iterable[Child], on: dt.date, ages: CompulsoryAges, as_of: dt.datetime
) -> DimensionFact:
    """义务教育有保障: ``not_ok`` when a compulsory-age member dropped out or is out of school
    without an evidenced alternative mode, else ``unknown`` when one has no 学籍 match,
    else ``ok`` (also for a household without compulsory-age children)."""
    return fact_of_counts(compulsory_counts(children, on, ages), as_of)


def fact_of_counts(counts: CompulsoryCounts, as_of: dt.datetime) -> DimensionFact:
    """The dimension of a household's counts (:func:`education_fact`). The detail counts,
    never names (the status travels to phones and dashboards)."""
    dropped, out, unmatched = counts.dropped_out, counts.out_of_school, counts.unmatched
    problems: list[tuple[Reason, str]] = []
    if dropped:
        problems.append((Reason.DROPOUT, f"{dropped} compulsory-age child(ren) dropped out"))
    if out:
        problems.append(
            (
                Reason.OUT_OF_SCHOOL,
                f"{out} compulsory-age child(ren) not enrolled, without an evidenced "
                "alternative mode",
            )
        )
    if problems:
        return DimensionFact(
            status=DimensionState.not_ok,
            reason=problems[0][0],
            detail="; ".join(text for _, text in problems),
            as_of=as_of,
        )
    if unmatched:
        return DimensionFact(
            status=DimensionState.unknown,
            reason=Reason.NO_STUDENT_RECORD,
            detail=f"{unmatched} compulsory-age child(ren) without a matched 学籍",
            as_of=as_of,
        )
    return DimensionFact(status=DimensionState.ok, as_of=as_of)
