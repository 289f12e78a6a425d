"""大病专项救治 (DOMAIN §4.3): the versioned list of diseases and the case ledger (救治台账).

The list in force for a region on a day is the national version valid that day plus every
regional version valid that day whose region contains it (a province adds kinds, it does
not remove any). Versions of the same region may not overlap in time.

A case is opened for a diagnosis that falls under the list in force for the patient's
region on the diagnosis date; it follows identified → treating → treated, or → referred
(转诊) → treated, and an open case may be closed with a reason. Every change is published
(flags only: the disease stays here, DOMAIN §1.7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.region import region_prefix
from health import errors
from health.critical import schemas
from health.critical.schemas import IN_TREATMENT, OPEN, TRANSITIONS, UNDER_TREATMENT, CaseStatus
from health.events import changes
from health.medical.service import MedicalAssessor
from health.models import CriticalCase, CriticalDisease, CriticalDiseaseList
from health.records import registry_persons
from health.regions import rate
from kit import problems
from kit.auth import Principal, ensure_in_region
from kit.clock import Clock
from kit.pagination import PageParams
from kit.problems import Problem
from kit.records import getter, one_writer_at_a_time, page_in_region
from persons import event_refs, of_person


class CriticalService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # --- the list -------------------------------------------------------------------

    async def in_force(
        self, session: AsyncSession, region_code: str, on: dt.date
    ) -> list[tuple[CriticalDiseaseList, list[CriticalDisease]]]:
        """The versions in force for a region on a day, national first, with their diseases."""
        lists = list(
            (
                await session.execute(
                    select(CriticalDiseaseList)
                    .where(
                        CriticalDiseaseList.valid_from <= on,
                        or_(
                            CriticalDiseaseList.valid_to.is_(None),
                            CriticalDiseaseList.valid_to >= on,
                        ),
                        literal(region_code).startswith(CriticalDiseaseList.region_prefix),
                    )
                    .order_by(
                        func.length(CriticalDiseaseList.region_prefix),
                        CriticalDiseaseList.valid_from,
                    )
                )
            ).scalars()
        )
        diseases = await self._diseases(session, [v.id for v in lists])
        return [(version, diseases[version.id]) for version in lists]

    async def list_in_force(
        self, session: AsyncSession, region_code: str, on: dt.date
    ) -> schemas.ListInForce:
        by_code: dict[str, schemas.DiseaseOut] = {}
        versions = await self.in_force(session, region_code, on)
        for version, diseases in versions:
            for disease in diseases:  # a more specific region's entry replaces the name
                by_code[disease.code] = schemas.DiseaseOut(
                    code=disease.code,
                    name=disease.name,
                    list_id=version.id,
                    list_name=version.name,
                    region_code=version.region_code,
                )
        items = sorted(by_code.values(), key=lambda d: d.code)
        return schemas.ListInForce(
            on=on,
            region_code=region_code,
            versions=[version.name for version, _ in versions],
            kinds=len(items),
            diseases=items,
        )

    async def versions(self, session: AsyncSession) -> list[schemas.ListVersionOut]:
        lists = list(
            (
                await session.execute(
                    select(CriticalDiseaseList).order_by(
                        CriticalDiseaseList.region_prefix, CriticalDiseaseList.valid_from
                    )
                )
            ).scalars()
        )
        diseases = await self._diseases(session, [v.id for v in lists])
        return [_version_out(v, diseases[v.id]) for v in lists]

    async def add_version(
        self, session: AsyncSession, body: schemas.ListVersionCreate, actor: Principal
    ) -> schemas.ListVersionOut:
        ensure_in_region(actor, body.region_code, field="body.region_code")
        seen: set[str] = set()
        for index, disease in enumerate(body.diseases):
            if disease.code in seen:
                raise errors.DUPLICATE_CODE(
                    f"{disease.code} is listed twice in the version",
                    field=f"body.diseases.{index}.code",
                )
            seen.add(disease.code)
        prefix = region_prefix(body.region_code)
        # One writer per region at a time, so two overlapping versions cannot both pass.
        await one_writer_at_a_time(session, f"critical_disease_lists:{prefix}")
        overlapping = (
            (
                await session.execute(
                    select(CriticalDiseaseList).where(
                        CriticalDiseaseList.region_prefix == prefix,
                        or_(
                            CriticalDiseaseList.valid_to.is_(None),
                            CriticalDiseaseList.valid_to >= body.valid_from,
                        ),
                        *(
                            []
                            if body.valid_to is None
                            else [CriticalDiseaseList.valid_from <= body.valid_to]
                        ),
                    )
                )
            )
            .scalars()
            .first()
        )
        if overlapping is not None:
            until = overlapping.valid_to or "open"
            raise errors.VERSION_OVERLAP(
                f"version {overlapping.name} of the same region is in force from "
                f"{overlapping.valid_from} to {until}: close it first or choose other dates"
            )
        version = CriticalDiseaseList(
            name=body.name,
            region_code=body.region_code,
            region_prefix=prefix,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
        )
        session.add(version)
        await session.flush()
        rows = [
            CriticalDisease(list_id=version.id, code=d.code, name=d.name) for d in body.diseases
        ]
        session.add_all(rows)
        out = _version_out(version, rows)
        await changes.record(
            session,
            version,
            actor=actor,
            action="health.critical_list.added",
            after=out.model_dump(mode="json"),
        )
        return out

    async def match(
        self, session: AsyncSession, region_code: str, on: dt.date, code: str
    ) -> tuple[CriticalDiseaseList, CriticalDisease] | None:
        """The list entry a diagnosis falls under (the longest matching code prefix)."""
        best = None
        for version, diseases in await self.in_force(session, region_code, on):
            for disease in diseases:
                if code.startswith(disease.code) and (
                    best is None or len(disease.code) >= len(best[1].code)
                ):
                    best = (version, disease)
        return best

    # --- cases ----------------------------------------------------------------------

    async def open_case(
        self, session: AsyncSession, body: schemas.CaseCreate, actor: Principal
    ) -> CriticalCase:
        person = await registry_persons.named(session, body.person_id, actor)
        if body.diagnosed_on > self.clock.today():
            raise problems.FUTURE_DATE("diagnosed_on is after today", field="body.diagnosed_on")
        found = await self.match(session, person.region_code, body.diagnosed_on, body.disease_code)
        if found is None:
            raise errors.NOT_ON_CRITICAL_LIST(
                f"{body.disease_code} is not on the 大病专项救治 list in force for "
                f"{person.region_code} on {body.diagnosed_on}"
            )
        version, disease = found
        # One open case a patient and disease: serialise the person's case openings.
        await one_writer_at_a_time(session, f"critical_cases:{person.id}")
        existing = (
            await session.execute(
                select(CriticalCase.id).where(
                    CriticalCase.person_id == person.id,
                    CriticalCase.disease_code == disease.code,
                    CriticalCase.status.in_([s.value for s in OPEN]),
                )
            )
        ).first()
        if existing is not None:
            raise case_exists(f"the patient has an open case for {disease.name} ({existing.id})")
        status = body.status
        case = CriticalCase(
            **of_person(person),
            diagnosis_code=body.disease_code,
            disease_code=disease.code,
            disease_name=disease.name,
            list_id=version.id,
            diagnosed_on=body.diagnosed_on,
            designated_hospital=body.designated_hospital,
            status=status.value,
            treatment_started_on=body.diagnosed_on if status in IN_TREATMENT else None,
            transitions=[_entry(None, status, body.diagnosed_on, None, actor)],
        )
        session.add(case)
        await session.flush()
        # The registry raises its 大病 alert from this one (it keeps the flag, not the disease).
        # Not audited: the case's opening below tells it.
        await changes.record(
            session,
            case,
            health_events.DISEASE_DIAGNOSED,
            _diagnosed(case, body.diagnosed_on),
            new=True,
            audited=False,
        )
        # The case's own first event: version 1 too (the diagnosis is another fact about it)
        await case_changes.created(
            session,
            case,
            health_events.CRITICAL_CASE_UPDATED,
            actor=actor,
            action="health.critical_case.opened",
            after={
                "status": case.status,
                "disease_code": case.disease_code,
                "designated_hospital": case.designated_hospital,
            },
        )
        await MedicalAssessor(self.clock).reassess(session, [case.household_id])
        return case

    async def transition(
        self,
        session: AsyncSession,
        case_id: uuid.UUID,
        body: schemas.Transition,
        actor: Principal,
    ) -> CriticalCase:
        case = await self.get(session, case_id, actor, for_update=True)
        current = CaseStatus(case.status)
        if body.to not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (the case is final)"
            raise errors.TRANSITION_NOT_ALLOWED(
                f"a {current.value} case cannot become {body.to.value}; allowed: {allowed}"
            )
        last_on = dt.date.fromisoformat(case.transitions[-1]["on"])
        if body.on < last_on or body.on > self.clock.today():
            raise errors.DATE_OUT_OF_ORDER(
                f"the date must lie between the last change ({last_on}) and today"
            )
        async with case_changes.change(
            session,
            case,
            health_events.CRITICAL_CASE_UPDATED,
            actor=actor,
            also={"note": body.note},
        ):
            case.status = body.to.value
            if body.to in IN_TREATMENT and case.treatment_started_on is None:
                case.treatment_started_on = body.on
            if body.to == CaseStatus.referred:
                case.referred_to = body.referred_to
            if body.to == CaseStatus.closed:
                case.closed_reason = body.note
            entry = _entry(current, body.to, body.on, body.note, actor)
            case.transitions = [*case.transitions, entry]
        await MedicalAssessor(self.clock).reassess(session, [case.household_id])
        return case

    get = getter(CriticalCase, what="critical case")

    async def search(
        self,
        session: AsyncSession,
        region_code: str,
        page: PageParams,
        *,
        status: CaseStatus | None = None,
        disease: str | None = None,
        person_id: uuid.UUID | None = None,
    ) -> tuple[list[CriticalCase], int]:
        where = []
        if status is not None:
            where.append(CriticalCase.status == status.value)
        if disease is not None:
            where.append(CriticalCase.disease_code == disease)
        newest_first = [CriticalCase.diagnosed_on.desc(), CriticalCase.id]
        return await page_in_region(
            session, CriticalCase, region_code, page, newest_first, person_id=person_id, where=where
        )

    async def care_report(
        self, session: AsyncSession, region_code: str, year: int
    ) -> schemas.CareReport:
        rows = (
            await session.execute(
                select(
                    CriticalCase.disease_code,
                    CriticalCase.disease_name,
                    CriticalCase.status,
                    CriticalCase.treatment_started_on,
                ).where(
                    CriticalCase.region_code.startswith(region_prefix(region_code)),
                    func.extract("year", CriticalCase.diagnosed_on) == year,
                )
            )
        ).all()
        by_disease: dict[str, list] = defaultdict(lambda: ["", 0, 0, 0])
        still_open = 0
        for code, name, status, started in rows:
            row = by_disease[code]
            row[0] = name
            row[1] += 1
            row[2] += started is not None
            row[3] += status == CaseStatus.treated
            still_open += status in OPEN
        identified = sum(r[1] for r in by_disease.values())
        treated = sum(r[2] for r in by_disease.values())
        return schemas.CareReport(
            region_code=region_code,
            year=year,
            identified=identified,
            treated=treated,
            completed=sum(r[3] for r in by_disease.values()),
            open=still_open,
            care_rate=rate(treated, identified),
            diseases=[
                schemas.CareRow(
                    disease_code=code,
                    disease_name=r[0],
                    identified=r[1],
                    treated=r[2],
                    completed=r[3],
                )
                for code, r in sorted(by_disease.items())
            ],
        )

    async def open_case_for_claim(
        self,
        session: AsyncSession,
        person_id: uuid.UUID,
        diagnosis_code: str,
        hospital_name: str,
        on: dt.date,
    ) -> CriticalCase | None:
        """An open case of the patient the claim's diagnosis falls under, at the case's
        designated hospital (or the one it was referred to), diagnosed by the claim's date."""
        rows = await session.execute(
            select(CriticalCase)
            .where(
                CriticalCase.person_id == person_id,
                CriticalCase.status.in_([s.value for s in OPEN]),
                CriticalCase.diagnosed_on <= on,
                literal(diagnosis_code).startswith(CriticalCase.disease_code),
                or_(
                    CriticalCase.designated_hospital == hospital_name,
                    CriticalCase.referred_to == hospital_name,
                ),
            )
            .order_by(CriticalCase.diagnosed_on)
            .limit(1)
        )
        return rows.scalar_one_or_none()

    # --- inside a transaction ---------------------------------------------------------

    async def _diseases(
        self, session: AsyncSession, list_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[CriticalDisease]]:
        found: dict[uuid.UUID, list[CriticalDisease]] = {i: [] for i in list_ids}
        if list_ids:
            rows = await session.execute(
                select(CriticalDisease)
                .where(CriticalDisease.list_id.in_(list_ids))
                .order_by(CriticalDisease.code)
            )
            for disease in rows.scalars():
                found[disease.list_id].append(disease)
        return found


def _updated(case: CriticalCase) -> health_events.CriticalCaseUpdated:
    """The case as its ``health.critical_case.updated`` events carry it: at its latest
    transition (the opening is the first)."""
    latest = case.transitions[-1]
    on = dt.date.fromisoformat(latest["on"])
    return health_events.CriticalCaseUpdated(
        **event_refs(case, on.year),
        case_id=case.id,
        status=case.status,
        previous_status=latest["from_status"],
        under_treatment=case.status in UNDER_TREATMENT,
        changed_on=on,
    )


def _audit_view(case: CriticalCase) -> dict:
    return {"status": case.status, "referred_to": case.referred_to}


#: A case's changes: its audit view and its events' data.
case_changes = changes.of(view=_audit_view, data=_updated)


def case_out(case: CriticalCase) -> schemas.CaseOut:
    return schemas.CaseOut(
        **case.model_dump(
            include={
                "id",
                "person_id",
                "household_id",
                "region_code",
                "diagnosis_code",
                "disease_code",
                "disease_name",
                "diagnosed_on",
                "designated_hospital",
                "referred_to",
                "status",
                "treatment_started_on",
                "closed_reason",
            }
        ),
        under_treatment=case.status in UNDER_TREATMENT,
        transitions=[schemas.TransitionOut(**entry) for entry in case.transitions],
    )


def _version_out(
    version: CriticalDiseaseList, diseases: list[CriticalDisease]
) -> schemas.ListVersionOut:
    return schemas.ListVersionOut(
        id=version.id,
        name=version.name,
        region_code=version.region_code,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        diseases=[schemas.DiseaseIn(code=d.code, name=d.name) for d in diseases],
    )


def _entry(
    previous: CaseStatus | None, to: CaseStatus, on: dt.date, note: str | None, actor: Principal
) -> dict:
    return {
        "from_status": previous.value if previous else None,
        "to": to.value,
        "on": on.isoformat(),
        "note": note,
        "by": actor.subject,
    }


def case_exists(detail: str = "the patient has an open case for this disease") -> Problem:
    return errors.CASE_EXISTS(detail)


def _diagnosed(case: CriticalCase, on: dt.date) -> health_events.DiseaseDiagnosed:
    """The diagnosis a case opens with, as the registry's 大病 alert reads it."""
    return health_events.DiseaseDiagnosed(
        **event_refs(case, on.year),
        diagnosis_id=case.id,
        disease_code=case.diagnosis_code,
        disease_name=case.disease_name,
        critical=True,
        diagnosed_on=on,
    )
