"""The demo county's school year (广河县): the 学籍 of the demo households' children, a few
dropouts (控辍保学), children schooled at home with evidence (送教上门), and the autumn term's
aid grants (教育资助) with a few students left owed a programme (资助全覆盖 still to do).

Education knows persons only from the registry's events, so the loader first waits until
education's consumer of the registry's stream has caught up, then writes through the same
service layer (and outbox) as the API: every record is audited and published. Everything
is drawn from a fixed seed over the persons ordered by id, so a county loads the same way
every time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.dates import SCHOOL_YEAR_STARTS, school_year
from contracts.enums import EnrolmentStatus, SchoolStage, SchoolTerm
from contracts.money import quantize
from contracts.region import region_prefix
from education.aid.schemas import GrantCreate
from education.aid.service import GrantService, rules_student
from education.compulsory import age_on
from education.config import EducationSettings
from education.grants import ONE_OFF, entitlements
from education.models import Person, Student
from education.policy import aid_policies
from education.records import registry_persons
from education.students.schemas import StudentCreate, StudentUpdate
from education.students.service import StudentService
from kit.auth import Principal
from kit.clock import Clock
from kit.db import atomic, create_engine, create_sessionmaker
from kit.progress import Step

DEMO_COUNTY = "622924000000"  # 广河县, the registry's demo county
SEED = 20261205

#: The stage and grade of a child by age on the first day of the school year (1 September):
#: 小学 from 6, 初中 from 12, 高中/中职 from 15, 高职/大学 from 18.
STAGES_BY_AGE: list[tuple[int, int, tuple[SchoolStage, ...]]] = [
    (3, 5, (SchoolStage.preschool,)),
    (6, 11, (SchoolStage.primary,)),
    (12, 14, (SchoolStage.junior,)),
    (15, 17, (SchoolStage.senior_high, SchoolStage.secondary_vocational)),
    (18, 21, (SchoolStage.higher_vocational, SchoolStage.university)),
]
#: A stage's school: the township's for the compulsory stages, the county's after them.
SCHOOLS = {
    SchoolStage.preschool: "{township}中心幼儿园",
    SchoolStage.primary: "{township}中心小学",
    SchoolStage.junior: "{township}初级中学",
    SchoolStage.senior_high: "广河县第一中学",
    SchoolStage.secondary_vocational: "广河县职业技术学校",
    SchoolStage.higher_vocational: "临夏现代职业学院",
    SchoolStage.university: "西北师范大学",
}
#: The demo county's townships (the registry demo's), by their code's digits 7–9.
TOWNSHIPS = {
    "100": "城关镇",
    "101": "三甲集镇",
    "102": "祁家集镇",
    "103": "庄窠集镇",
    "104": "买家巷镇",
    "105": "齐家镇",
    "200": "阿力麻土东乡族乡",
    "201": "水泉乡",
    "202": "官坊乡",
}
TEACHER_SURNAMES = "马王李张赵杨韩何"
TEACHER_NAMES = ["老师", "建华", "文娟", "海燕", "国强", "玉兰", "志明", "秀英"]


@dataclasses.dataclass(frozen=True)
class Shares:
    """Shares of the children of school age: left without a 学籍 match (逐步销号 still to
    do), and of the compulsory stages' pupils: dropped out (辍学), schooled at home (送教上门);
    of the students owed aid: left unpaid by one programme this term."""

    unmatched: float = 0.03
    dropout: float = 0.01
    home_teaching: float = 0.005
    unpaid: float = 0.05


@dataclasses.dataclass
class Counts:
    """What one load added (the summary it prints)."""

    children: int = 0
    students: int = 0
    unmatched: int = 0
    dropouts: int = 0
    home_teaching: int = 0
    grants: int = 0
    aid: Decimal = Decimal(0)
    unpaid: int = 0

    def summary(self, school_year: int) -> str:
        return (
            f"education demo {school_year}学年: {self.students} students of {self.children} "
            f"children of school age ({self.unmatched} left unmatched), {self.dropouts} "
            f"dropouts, {self.home_teaching} schooled at home (送教上门); {self.grants} aid "
            f"grants of the autumn term, {self.aid} 元 ({self.unpaid} students left owed a "
            "programme)"
        )


def school_year_start(today: dt.date) -> dt.date:
    """The first day of the school year (学年) ``today`` falls in."""
    return dt.date(school_year(today), *SCHOOL_YEAR_STARTS)


def place(age: int, rng: random.Random) -> tuple[SchoolStage, int] | None:
    """Stage and grade of a child of ``age`` at the start of the school year, if at school."""
    for first, last, stages in STAGES_BY_AGE:
        if first <= age <= last:
            return rng.choice(stages), age - first + 1
    return None


async def load(
    settings: EducationSettings,
    *,
    clock: Clock | None = None,
    region: str = DEMO_COUNTY,
    seed: int = SEED,
    shares: Shares = Shares(),
    show_progress: bool = True,
) -> Counts | None:
    """Load the school year (the clock's) into the region; None if it has students already.

    Not resumable: the first student marks the county as loaded, so a run cut short is
    redone on a fresh database (``make clean-data``)."""
    clock = clock or Clock()
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    actor = Principal(
        subject="education-demo-loader", scopes=frozenset({"education:write"}), region=region
    )
    try:
        async with sessions() as session:
            if await student_count(session, region):
                return None
            persons = await registry_persons.living_in(session, region)
        loader = _Loader(sessions, clock, actor, random.Random(seed), shares, show_progress)
        return await loader.run(persons)
    finally:
        await engine.dispose()


async def student_count(session: AsyncSession, region: str) -> int:
    return await session.scalar(
        select(func.count(Student.id)).where(Student.region_code.startswith(region_prefix(region)))
    )


@dataclasses.dataclass
class _Loader:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    actor: Principal
    rng: random.Random
    shares: Shares
    show_progress: bool
    counts: Counts = dataclasses.field(default_factory=Counts)
    #: The students at school after the registration, and their persons: paid this term.
    at_school: list[tuple[Student, Person]] = dataclasses.field(default_factory=list)

    async def run(self, persons: list[Person]) -> Counts:
        today = self.clock.today()
        start = school_year_start(today)
        children = []
        for person in persons:
            if person.birth_date is None:
                continue
            placed = place(age_on(person.birth_date, start), self.rng)
            if placed is not None:
                children.append((person, *placed))
        self.counts.children = len(children)
        service = StudentService(self.clock)
        async with Step("students (学籍)", len(children), disable=not self.show_progress) as step:
            for person, stage, grade in children:
                roll = self.rng.random()
                if roll < self.shares.unmatched:
                    self.counts.unmatched += 1
                else:
                    await self.register(service, person, stage, grade, start, roll, today)
                step()
        await self.pay_autumn_term(start, today)
        return self.counts

    async def register(
        self,
        service: StudentService,
        person: Person,
        stage: SchoolStage,
        grade: int,
        start: dt.date,
        roll: float,
        today: dt.date,
    ) -> None:
        township = TOWNSHIPS.get(person.region_code[6:9], "城关镇")
        compulsory = stage in (SchoolStage.primary, SchoolStage.junior)
        home_taught = compulsory and roll > 1 - self.shares.home_teaching
        body = StudentCreate(
            person_id=person.id,
            school_name=SCHOOLS[stage].format(township=township),
            stage=stage,
            grade=grade,
            boarding=stage is SchoolStage.junior and self.rng.random() < 0.4,
            enrolment_status=(
                EnrolmentStatus.home_teaching if home_taught else EnrolmentStatus.enrolled
            ),
            status_since=min(start, today),
            evidence=f"送教上门记录 {start.year}-{person.id.hex[:6]}" if home_taught else None,
            responsible_teacher=self.rng.choice(TEACHER_SURNAMES) + self.rng.choice(TEACHER_NAMES),
        )
        async with self.sessions() as session, atomic(session):
            student = await service.register(session, body, self.actor)
        self.counts.students += 1
        self.counts.home_teaching += home_taught
        if compulsory and not home_taught and roll < self.shares.unmatched + self.shares.dropout:
            # 辍学 some weeks into the term: the registry raises its alert (控辍保学).
            left = min(today, start + dt.timedelta(days=self.rng.randint(20, 60)))
            async with self.sessions() as session, atomic(session):
                await service.update(
                    session,
                    student.id,
                    StudentUpdate(enrolment_status=EnrolmentStatus.dropped_out, status_since=left),
                    self.actor,
                )
            self.counts.dropouts += 1
        else:
            self.at_school.append((student, person))

    async def pay_autumn_term(self, start: dt.date, today: dt.date) -> None:
        """The autumn term's grants through the API's service (its checks, its event): to
        every student at school owed aid, half of each year's standard and a one-off in
        full; a few students are left unpaid by one of their programmes."""
        paid_on = min(today, start + dt.timedelta(days=45))
        async with self.sessions() as session:
            policies = await aid_policies(session)
        payments = []
        for student, person in self.at_school:
            policy = policies.of(student.region_code, start.year)
            owed = entitlements(rules_student(student, person, paid_on), policy)
            if owed and self.rng.random() < self.shares.unpaid:
                del owed[next(iter(owed))]
                self.counts.unpaid += 1
            for programme, standard in owed.items():
                amount = standard.maximum if programme in ONE_OFF else standard.maximum / 2
                payments.append((student, programme, quantize(amount)))
        service = GrantService(self.clock)
        async with Step(
            "aid grants (教育资助)", len(payments), disable=not self.show_progress
        ) as step:
            for student, programme, amount in payments:
                body = GrantCreate(
                    student_id=student.id,
                    programme=programme,
                    school_year=start.year,
                    term=SchoolTerm.autumn,
                    amount=amount,
                    paid_on=paid_on,
                    payment_reference=f"GH-{start.year}-{self.counts.grants + 1:06d}",
                )
                async with self.sessions() as session, atomic(session):
                    await service.pay(session, body, self.actor)
                self.counts.grants += 1
                self.counts.aid += amount
                step()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Load the demo county's school year (once the registry's demo county is "
        "projected into education)."
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    args = parser.parse_args()
    settings = EducationSettings()
    asyncio.run(registry_persons.caught_up(settings.nats_url, "education", timeout=args.timeout))
    counts = asyncio.run(load(settings, seed=args.seed))
    year = school_year(Clock().today())
    print(
        f"education demo {year}学年: already loaded, nothing to add"
        if counts is None
        else counts.summary(year)
    )
