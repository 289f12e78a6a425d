"""The demo county's health year (广河县): enrolments, claims, 大病 cases, 慢病 certificates,
family-doctor contracts with follow-ups and dialysis patients.

Health knows persons only from the registry's events, so the loader first waits until
health's consumer of the registry's stream has caught up, then writes through the same
service layer (and outbox) as the API: every record is audited and published. Everything
is drawn from a fixed seed over the persons ordered by id, so a county loads the same way
every time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.enums import HospitalLevel
from contracts.region import region_prefix
from health.chronic.schemas import CertificateCreate
from health.chronic.service import ChronicService
from health.claims.schemas import ClaimCreate, ClaimKind
from health.claims.service import ClaimService
from health.config import HealthSettings
from health.critical.schemas import CaseCreate, CaseStatus, Transition
from health.critical.service import CriticalService
from health.dialysis.schemas import DialysisPatientCreate, SessionCreate
from health.dialysis.service import DialysisService
from health.doctors.schemas import ContractCreate, FollowUpCreate
from health.doctors.service import ContractService
from health.enrolment.service import ACTIVE, EnrolmentService
from health.models import Claim, DoctorContract, Enrolment, Person
from health.records import registry_persons
from kit.auth import Principal
from kit.clock import Clock
from kit.db import atomic, create_engine, create_sessionmaker
from kit.progress import Step

DEMO_COUNTY = "622924000000"  # 广河县, the registry's demo county
SEED = 20261122

TOWNSHIP_HOSPITALS = ["城关镇卫生院", "三甲集镇卫生院", "祁家集镇卫生院", "庄窠集镇卫生院"]
COUNTY_HOSPITALS = ["广河县人民医院", "广河县中医医院"]
MUNICIPAL_HOSPITALS = ["临夏州人民医院", "临夏州中医医院"]
REFERRAL_HOSPITAL = "甘肃省人民医院"
HOSPITALS = {
    HospitalLevel.township: TOWNSHIP_HOSPITALS,
    HospitalLevel.county: COUNTY_HOSPITALS,
    HospitalLevel.municipal: MUNICIPAL_HOSPITALS,
}
#: (lowest, highest) total of an inpatient stay by hospital level (元).
INPATIENT_TOTALS = {
    HospitalLevel.township: (600, 6000),
    HospitalLevel.county: (2000, 30000),
    HospitalLevel.municipal: (8000, 80000),
}
INPATIENT_DIAGNOSES = [
    ("J18.9", "肺炎"),
    ("K29.7", "胃炎"),
    ("J44.1", "慢性阻塞性肺病伴急性加重"),
    ("I25.1", "冠状动脉粥样硬化性心脏病"),
    ("K80.2", "胆囊结石"),
    ("N20.0", "肾结石"),
    ("M17.9", "膝关节病"),
    ("S72.0", "股骨颈骨折"),
    ("I10", "高血压"),
    ("E11.9", "2型糖尿病"),
]
OUTPATIENT_DIAGNOSES = [
    ("J06.9", "急性上呼吸道感染"),
    ("K29.7", "胃炎"),
    ("M54.5", "腰痛"),
    ("I10", "高血压"),
    ("E11.9", "2型糖尿病"),
]
COST_ITEMS = ["药品费", "检查费", "化验费", "治疗费", "床位费", "手术费", "材料费"]
OUT_OF_CATALOGUE_ITEMS = ["自费药品", "进口耗材", "特需检查"]
#: 大病 diseases of the 25种 list the demo's cases have (ICD-10 code, designated hospital).
CRITICAL_DISEASES = [
    ("C16.9", "临夏州人民医院"),
    ("C34.9", "临夏州人民医院"),
    ("I63.9", "广河县人民医院"),
    ("C50.9", "临夏州人民医院"),
    ("J44.1", "广河县人民医院"),
]
CRITICAL_NAMES = {
    "C16": "胃癌",
    "C34": "肺癌",
    "I63": "脑梗死",
    "C50": "乳腺癌",
    "J44": "慢阻肺",
    "N18": "终末期肾病",
}
#: Statuses of the cases that are not dialysis patients', in turn.
CASE_STATUSES = [
    CaseStatus.treated,
    CaseStatus.treating,
    CaseStatus.identified,
    CaseStatus.treated,
    CaseStatus.referred,
    CaseStatus.treating,
    CaseStatus.identified,
    CaseStatus.treated,
    CaseStatus.closed,
]
CHRONIC = {  # certificate code and name, the contract's 慢病 code
    "I10": ("高血压", "hypertension"),
    "E11": ("糖尿病", "diabetes"),
}
DIALYSIS_FACILITIES = ["广河县人民医院", "临夏州人民医院"]
FOLLOW_UP_NOTES = {
    "hypertension": [
        "测血压 {a}/{b} mmHg，继续氨氯地平，低盐饮食指导",
        "测血压 {a}/{b} mmHg，调整用药，嘱每日自测血压",
    ],
    "diabetes": [
        "空腹血糖 {c} mmol/L，继续二甲双胍，饮食运动指导",
        "空腹血糖 {c} mmol/L，调整胰岛素剂量，足部检查",
    ],
    None: ["健康状况良好，健康教育与用药指导", "电话询问近况，提醒按时体检"],
}


@dataclasses.dataclass
class Counts:
    """What one load added (the summary it prints)."""

    households: int = 0
    not_insured_households: int = 0
    enrolments: int = 0
    critical_cases: int = 0
    certificates: int = 0
    contracts: int = 0
    follow_ups: int = 0
    dialysis_patients: int = 0
    dialysis_sessions: int = 0
    claims: int = 0
    resettled: int = 0

    def summary(self, year: int) -> str:
        return (
            f"health demo {year}: {self.enrolments} enrolments in "
            f"{self.households - self.not_insured_households} of {self.households} households "
            f"({self.not_insured_households} not insured), {self.claims} claims "
            f"({self.resettled} reversed and settled again), {self.critical_cases} 大病 cases, "
            f"{self.certificates} 慢病 certificates, {self.contracts} family-doctor contracts "
            f"with {self.follow_ups} follow-ups, {self.dialysis_patients} dialysis patients "
            f"with {self.dialysis_sessions} sessions"
        )


def scaled(count: int, scale: float) -> int:
    """``count`` times ``scale``, at least one."""
    return max(1, round(count * scale))


async def load(
    settings: HealthSettings,
    *,
    scale: float = 1.0,
    clock: Clock | None = None,
    region: str = DEMO_COUNTY,
    seed: int = SEED,
    show_progress: bool = True,
) -> Counts | None:
    """Load the year (the clock's) into the region; None if it already has enrolments for it.

    Not resumable: the first enrolment marks the year as loaded, so a run cut short is
    redone on a fresh database (``make clean-data``)."""
    clock = clock or Clock()
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    actor = Principal(
        subject="health-demo-loader", scopes=frozenset({"health:write"}), region=region
    )
    try:
        year = clock.today().year
        async with sessions() as session:
            if await _enrolled(session, region, year):
                return None
            persons = await registry_persons.living_in(session, region)
        loader = _Loader(sessions, clock, actor, random.Random(seed), scale, show_progress)
        return await loader.run(persons, year)
    finally:
        await engine.dispose()


async def _enrolled(session: AsyncSession, region: str, year: int) -> bool:
    found = await session.execute(
        select(Enrolment.id)
        .where(Enrolment.year == year, Enrolment.region_code.startswith(region_prefix(region)))
        .limit(1)
    )
    return found.first() is not None


@dataclasses.dataclass
class _Loader:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    actor: Principal
    rng: random.Random
    scale: float
    show_progress: bool
    counts: Counts = dataclasses.field(default_factory=Counts)

    async def run(self, persons: list[Person], year: int) -> Counts:
        self.today = self.clock.today()
        self.first = dt.date(year, 1, 1)
        insured = await self.enrol(persons, year)
        dialysis = self.rng.sample(persons, min(scaled(6, self.scale), len(persons)))
        others = [p for p in persons if p not in dialysis]
        critical = [
            (p, "N18.5", facility, CaseStatus.treating)
            for p, facility in zip(dialysis, itertools.cycle(DIALYSIS_FACILITIES))
        ]
        for person, status in zip(
            self.rng.sample(others, min(scaled(25, self.scale) - len(critical), len(others))),
            itertools.cycle(CASE_STATUSES),
        ):
            code, hospital = self.rng.choice(CRITICAL_DISEASES)
            critical.append((person, code, hospital, status))
        cases = await self.critical_cases(critical)
        await self.dialysis(dialysis, critical)
        holders = await self.certificates(persons)
        await self.contracts(persons, holders)
        await self.claims(insured, cases, holders, year)
        return self.counts

    # --- 参保 ---------------------------------------------------------------------------

    async def enrol(self, persons: list[Person], year: int) -> list[Person]:
        """Every household but about 2% (参保率 below 100%); returns the insured."""
        households = sorted({p.household_id for p in persons})
        # At least one household when there are several, so the demo always shows one.
        uninsured = round(len(households) * 0.02) or (1 if len(households) > 1 else 0)
        skipped = set(self.rng.sample(households, uninsured))
        self.counts.households = len(households)
        self.counts.not_insured_households = len(skipped)
        async with self._progress("enrolments (参保)", len(households)) as advance:
            for household_id in households:
                if household_id not in skipped:
                    async with self.sessions() as session, atomic(session):
                        created = await EnrolmentService(self.clock).enrol_household(
                            session, household_id, year, self.actor
                        )
                    self.counts.enrolments += len(created)
                advance()
        return [p for p in persons if p.household_id not in skipped]

    # --- 大病专项救治 ---------------------------------------------------------------------

    async def critical_cases(
        self, cases: list[tuple[Person, str, str, CaseStatus]]
    ) -> list[tuple[Person, str, str, dt.date]]:
        """Open each case and move it to its status; returns (person, code, hospital, the day
        treatment started) of the cases that reached treatment."""
        treated = []
        service = CriticalService(self.clock)
        async with self._progress("大病 cases", len(cases)) as advance:
            for person, code, hospital, status in cases:
                diagnosed = self._day(self.first, self.today - dt.timedelta(days=60))
                opens_as = CaseStatus.treating if status == CaseStatus.treating else None
                async with self.sessions() as session, atomic(session):
                    case = await service.open_case(
                        session,
                        CaseCreate(
                            person_id=person.id,
                            disease_code=code,
                            diagnosed_on=diagnosed,
                            designated_hospital=hospital,
                            status=opens_as or CaseStatus.identified,
                        ),
                        self.actor,
                    )
                day, started = diagnosed, diagnosed if opens_as else None
                for step in _path(status):
                    day = min(day + dt.timedelta(days=self.rng.randint(3, 30)), self.today)
                    started = started or (day if step == CaseStatus.treating else None)
                    async with self.sessions() as session, atomic(session):
                        await service.transition(
                            session,
                            case.id,
                            Transition(
                                to=step,
                                on=day,
                                note="患者死亡" if step == CaseStatus.closed else None,
                                referred_to=REFERRAL_HOSPITAL
                                if step == CaseStatus.referred
                                else None,
                            ),
                            self.actor,
                        )
                if started is not None:
                    treated.append((person, code, hospital, started))
                self.counts.critical_cases += 1
                advance()
        return treated

    # --- 血液透析 -------------------------------------------------------------------------

    async def dialysis(self, patients: list[Person], cases: list) -> None:
        """2–3 sessions a week since each patient's start, at the case's hospital."""
        service = DialysisService(self.clock)
        facilities = {case[0].id: case[2] for case in cases}
        courses = [self._sessions() for _ in patients]
        async with self._progress("dialysis sessions", sum(map(len, courses))) as advance:
            for person, days in zip(patients, courses, strict=True):
                async with self.sessions() as session, atomic(session):
                    patient = await service.register(
                        session,
                        DialysisPatientCreate(
                            person_id=person.id, started_on=days[0], facility=facilities[person.id]
                        ),
                        self.actor,
                    )
                self.counts.dialysis_patients += 1
                for day in days:
                    async with self.sessions() as session, atomic(session):
                        await service.record_session(
                            session, patient.id, SessionCreate(on=day), self.actor
                        )
                    self.counts.dialysis_sessions += 1
                    advance()

    def _sessions(self) -> list[dt.date]:
        """A course started this year (three weeks ago at the latest) up to today."""
        day = self._day(self.first, self.today - dt.timedelta(days=21))
        gaps = itertools.cycle(self.rng.choice([(2, 2, 3), (3, 4)]))  # 3 or 2 a week
        days = []
        while day <= self.today:
            days.append(day)
            day += dt.timedelta(days=next(gaps))
        return days

    # --- 慢病 and 家庭医生签约 ---------------------------------------------------------------

    async def certificates(self, persons: list[Person]) -> list[tuple[Person, str]]:
        """Certificates of 高血压 or 糖尿病 for persons over 40; returns (person, ICD code)."""
        older = [
            p for p in persons if p.birth_date and p.birth_date.year <= self.today.year - 40
        ] or persons
        chosen = self.rng.sample(older, min(scaled(150, self.scale), len(older)))
        holders = []
        service = ChronicService(self.clock)
        async with self._progress("慢病 certificates", len(chosen)) as advance:
            for person in chosen:
                code = self.rng.choice(sorted(CHRONIC))
                issued = self._day(self.first - dt.timedelta(days=540), self.today)
                async with self.sessions() as session, atomic(session):
                    await service.issue(
                        session,
                        CertificateCreate(
                            person_id=person.id,
                            disease_code=code,
                            disease_name=CHRONIC[code][0],
                            issued_on=issued,
                            valid_until=issued.replace(year=issued.year + 3) - dt.timedelta(days=1),
                            issuer=self.rng.choice(COUNTY_HOSPITALS),
                        ),
                        self.actor,
                    )
                holders.append((person, code))
                self.counts.certificates += 1
                advance()
        return holders

    async def contracts(self, persons: list[Person], holders: list[tuple[Person, str]]) -> None:
        """Most certificate holders (with their 慢病) and ~400 others; the holders' doctors
        follow them up, four times or more face to face for most."""
        contracted = holders[: round(len(holders) * 0.9)]
        taken = {p.id for p, _ in holders}
        rest = [p for p in persons if p.id not in taken]
        plain = self.rng.sample(rest, min(scaled(400, self.scale), len(rest)))
        signings = [(p, CHRONIC[code][1]) for p, code in contracted] + [(p, None) for p in plain]
        service = ContractService(self.clock)
        async with self._progress("family-doctor contracts", len(signings)) as advance:
            for index, (person, condition) in enumerate(signings):
                signed = self._day(self.first, min(self.first + dt.timedelta(days=90), self.today))
                paid = self.rng.random() < 0.2
                township = self.rng.choice(TOWNSHIP_HOSPITALS)
                async with self.sessions() as session, atomic(session):
                    contract = await service.sign(
                        session,
                        ContractCreate(
                            person_id=person.id,
                            doctor_name=f"{township[:2]}医生{index % 7 + 1}",
                            team=f"{township}家庭医生团队",
                            institution=township,
                            signed_on=signed,
                            valid_until=dt.date(signed.year, 12, 31),
                            paid=paid,
                            fee=Decimal("120.00") if paid else Decimal("0.00"),
                            chronic_conditions=[condition] if condition else [],
                        ),
                        self.actor,
                    )
                self.counts.contracts += 1
                for on, face_to_face in self._follow_up_days(signed, condition is not None):
                    note = self.rng.choice(FOLLOW_UP_NOTES[condition]).format(
                        a=self.rng.randint(120, 170),
                        b=self.rng.randint(75, 100),
                        c=round(self.rng.uniform(5.5, 11.0), 1),
                    )
                    async with self.sessions() as session, atomic(session):
                        await service.follow_up(
                            session,
                            contract.id,
                            FollowUpCreate(
                                on=on,
                                face_to_face=face_to_face,
                                condition=condition,
                                disposition=note,
                            ),
                            self.actor,
                        )
                    self.counts.follow_ups += 1
                advance()

    def _follow_up_days(self, signed: dt.date, chronic: bool) -> list[tuple[dt.date, bool]]:
        if chronic:  # about two in three get the yearly minimum of four face to face
            face = self.rng.randint(4, 6) if self.rng.random() < 0.65 else self.rng.randint(1, 3)
            by_phone = self.rng.randint(0, 2)
        else:
            face, by_phone = int(self.rng.random() < 0.3), 0
        visits = [True] * face + [False] * by_phone
        return sorted((self._day(signed, self.today), visit) for visit in visits)

    # --- 一站式结算 -------------------------------------------------------------------------

    async def claims(
        self,
        insured: list[Person],
        cases: list[tuple[Person, str, str, dt.date]],
        holders: list[tuple[Person, str]],
        year: int,
    ) -> None:
        """Inpatient and outpatient claims: the treated 大病 cases' at their hospital, the
        certificate holders' outpatient visits, the rest over random insured persons."""
        if not insured:
            return
        inpatient, outpatient = scaled(120, self.scale), scaled(60, self.scale)
        requests = []
        for index in range(inpatient):
            if index < len(cases):
                person, code, hospital, started = cases[index]
                level = (
                    HospitalLevel.municipal
                    if hospital in MUNICIPAL_HOSPITALS
                    else HospitalLevel.county
                )
                name = CRITICAL_NAMES[code[:3]]
                diagnosis, admitted = (code, name), self._day(started, self.today)
            else:
                person = self.rng.choice(insured)
                level = self.rng.choices(list(INPATIENT_TOTALS), weights=[3, 5, 2])[0]
                hospital = self.rng.choice(HOSPITALS[level])
                diagnosis = self.rng.choice(INPATIENT_DIAGNOSES)
                admitted = self._day(self.first, self.today)
            low, high = INPATIENT_TOTALS[level]
            stay = self.rng.randint(3, 15)
            requests.append(
                self._claim(
                    f"DEMO-{year}-Z{index + 1:04d}",
                    person,
                    ClaimKind.inpatient,
                    (level, hospital),
                    diagnosis,
                    admitted,
                    min(admitted + dt.timedelta(days=stay), self.today),
                    self._amount(low, high),
                )
            )
        for index in range(outpatient):
            if index < len(holders) // 2:
                person, code = holders[index]
                diagnosis = (code, CHRONIC[code][0])
            else:
                person, diagnosis = (
                    self.rng.choice(insured),
                    self.rng.choice(OUTPATIENT_DIAGNOSES),
                )
            level = self.rng.choice([HospitalLevel.township, HospitalLevel.county])
            visit = self._day(self.first, self.today)
            requests.append(
                self._claim(
                    f"DEMO-{year}-M{index + 1:04d}",
                    person,
                    ClaimKind.outpatient,
                    (level, self.rng.choice(HOSPITALS[level])),
                    diagnosis,
                    visit,
                    visit,
                    self._amount(150, 2500),
                )
            )
        # A few are reversed (a line entered wrong) and settled again.
        again = set(self.rng.sample(range(len(requests)), min(scaled(5, self.scale), inpatient)))
        service = ClaimService(self.clock)
        async with self._progress("claims (一站式结算)", len(requests)) as advance:
            for index, request in enumerate(requests):
                async with self.sessions() as session, atomic(session):
                    claim = await service.submit(session, request, self.actor)
                self.counts.claims += 1
                if index in again:
                    async with self.sessions() as session, atomic(session):
                        await service.reverse(
                            session, claim.id, "费用明细录入有误，冲销后重新结算", self.actor
                        )
                    async with self.sessions() as session, atomic(session):
                        await service.resettle(session, claim.id, self.actor)
                    self.counts.resettled += 1
                advance()

    def _claim(
        self,
        claim_no: str,
        person: Person,
        kind: ClaimKind,
        hospital: tuple[HospitalLevel, str],
        diagnosis: tuple[str, str],
        admitted: dt.date,
        discharged: dt.date,
        total: Decimal,
    ) -> ClaimCreate:
        """The total split over a few cost lines; about one in four with a 目录外 line the
        patient consented to."""
        lines = []
        if self.rng.random() < 0.25:
            extra = (total * Decimal(self.rng.uniform(0.05, 0.15))).quantize(Decimal("0.01"))
            lines.append(
                dict(
                    item=self.rng.choice(OUT_OF_CATALOGUE_ITEMS),
                    amount=extra,
                    in_catalogue=False,
                    consent_signed=True,
                )
            )
            total -= extra
        items = self.rng.sample(COST_ITEMS, self.rng.randint(2, 4))
        weights = [self.rng.uniform(1, 4) for _ in items]
        left = total
        for item, weight in zip(items[:-1], weights, strict=False):
            amount = (total * Decimal(weight / sum(weights))).quantize(Decimal("0.01"))
            lines.append(dict(item=item, amount=amount))
            left -= amount
        lines.append(dict(item=items[-1], amount=left))
        level, hospital_name = hospital
        return ClaimCreate(
            claim_no=claim_no,
            person_id=person.id,
            kind=kind,
            hospital_name=hospital_name,
            hospital_level=level,
            diagnosis_code=diagnosis[0],
            diagnosis_name=diagnosis[1],
            admitted_on=admitted,
            discharged_on=discharged,
            lines=lines,
        )

    # --- helpers ------------------------------------------------------------------------

    def _amount(self, low: int, high: int) -> Decimal:
        """Log-uniform: most bills small, a few large."""
        return Decimal(str(round(low * (high / low) ** self.rng.random(), 2)))

    def _day(self, first: dt.date, last: dt.date) -> dt.date:
        """A day in [first, last], never after today (early in the year: today)."""
        last = min(last, self.today)
        first = min(first, last)
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    def _progress(self, description: str, total: int) -> Step:
        return Step(description, total, disable=not self.show_progress)


def _path(status: CaseStatus) -> list[CaseStatus]:
    """The transitions after opening (as identified, or treating for a treating case)."""
    return {
        CaseStatus.identified: [],
        CaseStatus.treating: [],
        CaseStatus.referred: [CaseStatus.treating, CaseStatus.referred],
        CaseStatus.treated: [CaseStatus.treating, CaseStatus.treated],
        CaseStatus.closed: [CaseStatus.closed],
    }[status]


async def table_counts(session: AsyncSession, region: str, year: int) -> dict[str, int]:
    """Rows of the region's year: what the demo's test and summary compare."""
    prefix = region_prefix(region)
    enrolments = await session.scalar(
        select(func.count()).where(
            Enrolment.year == year,
            Enrolment.status == ACTIVE,
            Enrolment.region_code.startswith(prefix),
        )
    )
    claims = await session.scalar(
        select(func.count()).where(Claim.year == year, Claim.region_code.startswith(prefix))
    )
    contracts = await session.scalar(
        select(func.count()).where(DoctorContract.region_code.startswith(prefix))
    )
    return {"enrolments": enrolments, "claims": claims, "contracts": contracts}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Load the demo county's health year (once the registry's demo county is "
        "projected into health)."
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: ~120 inpatient claims …")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for health")
    args = parser.parse_args()
    settings = HealthSettings()
    asyncio.run(registry_persons.caught_up(settings.nats_url, "health", timeout=args.timeout))
    counts = asyncio.run(load(settings, scale=args.scale, seed=args.seed))
    year = Clock().today().year
    print(
        f"health demo {year}: already loaded, nothing to add"
        if counts is None
        else counts.summary(year)
    )
