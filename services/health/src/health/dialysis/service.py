"""Haemodialysis patients and sessions (血液透析, DOMAIN §4.3).

Each session earns the county subsidy (每次100元 by default) of its region and year; the
amount is kept on the session, so a later change of the rate applies to later sessions
only, and the report sums the records.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.region import child_prefix_length as child_length
from contracts.region import region_prefix
from health import errors
from health.dialysis import schemas
from health.events import changes
from health.models import DialysisPatient, DialysisSession, Person
from health.policy import DIALYSIS_SUBSIDY, policy
from health.regions import child_code
from kit.auth import Principal
from kit.clock import Clock
from kit.pagination import PageParams
from kit.problems import Problem
from kit.records import getter, page_in_region, record_in_region
from persons import event_refs, of_person

OPEN = "open"
ENDED = "ended"
CENT = Decimal("0.01")


class DialysisService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def register(
        self, session: AsyncSession, body: schemas.DialysisPatientCreate, actor: Principal
    ) -> DialysisPatient:
        # Locked so two registrations of the same person are checked one after the other.
        person = await record_in_region(
            session, Person, body.person_id, actor, what="person", for_update=True
        )
        self.clock.up_to_today(body.started_on, "body.started_on")
        open_record = (
            await session.execute(
                select(DialysisPatient.id).where(
                    DialysisPatient.person_id == person.id, DialysisPatient.status == OPEN
                )
            )
        ).scalar_one_or_none()
        if open_record is not None:
            raise dialysis_open(f"{person.name} has an open dialysis record ({open_record})")
        patient = DialysisPatient(
            **of_person(person),
            started_on=body.started_on,
            facility=body.facility,
        )
        session.add(patient)
        await session.flush()
        await patient_changes.created(
            session, patient, health_events.DIALYSIS_STARTED, actor=actor, data=_started
        )
        return patient

    async def end(
        self,
        session: AsyncSession,
        patient_id: uuid.UUID,
        body: schemas.DialysisEnd,
        actor: Principal,
    ) -> DialysisPatient:
        patient = await self.get(session, patient_id, actor, for_update=True)
        if patient.status == ENDED:
            raise errors.DIALYSIS_ENDED(f"dialysis ended on {patient.ended_on}")
        self.clock.up_to_today(body.on, "body.on")
        last_session = (
            await session.execute(
                select(func.max(DialysisSession.on)).where(DialysisSession.patient_id == patient.id)
            )
        ).scalar_one()
        earliest = max(patient.started_on, last_session or patient.started_on)
        if body.on < earliest:
            raise errors.END_TOO_EARLY(
                f"the course cannot end before {earliest} (start or last session)"
            )
        async with patient_changes.change(
            session, patient, health_events.DIALYSIS_ENDED, actor=actor, data=_ended
        ):
            patient.status = ENDED
            patient.ended_on = body.on
            patient.end_reason = body.reason
        return patient

    async def record_session(
        self,
        session: AsyncSession,
        patient_id: uuid.UUID,
        body: schemas.SessionCreate,
        actor: Principal,
    ) -> DialysisSession:
        patient = await self.get(session, patient_id, actor, for_update=True)
        self.clock.up_to_today(body.on, "body.on")
        last = patient.ended_on or body.on
        if not patient.started_on <= body.on <= last:
            raise errors.OUTSIDE_COURSE(
                f"{body.on} is outside the course ({patient.started_on} to "
                f"{patient.ended_on or 'open'})"
            )
        taken = (
            await session.execute(
                select(DialysisSession.id).where(
                    DialysisSession.person_id == patient.person_id,
                    DialysisSession.on == body.on,
                )
            )
        ).scalar_one_or_none()
        if taken is not None:
            raise duplicate_session(body.on, f" ({taken})")
        rate = await policy.value(
            session, DIALYSIS_SUBSIDY, region_code=patient.region_code, year=body.on.year
        )
        record = DialysisSession(
            patient_id=patient.id,
            person_id=patient.person_id,
            region_code=patient.region_code,
            on=body.on,
            year=body.on.year,
            facility=body.facility or patient.facility,
            subsidy=Decimal(rate).quantize(CENT),
        )
        session.add(record)
        await session.flush()
        await changes.record(
            session,
            record,
            health_events.DIALYSIS_SESSION_RECORDED,
            _session_recorded(record, patient),
            actor=actor,
            new=True,
            after={
                "patient_id": str(patient.id),
                "on": record.on.isoformat(),
                "facility": record.facility,
                "subsidy": str(record.subsidy),
            },
        )
        return record

    get = getter(DialysisPatient, what="dialysis patient")

    async def search(
        self,
        session: AsyncSession,
        region: str,
        page: PageParams,
        *,
        person_id: uuid.UUID | None = None,
        open_only: bool | None = None,
    ) -> tuple[list[DialysisPatient], int]:
        is_open = DialysisPatient.status == OPEN
        where = [] if open_only is None else [is_open if open_only else ~is_open]
        newest_first = [DialysisPatient.started_on.desc(), DialysisPatient.id]
        return await page_in_region(
            session, DialysisPatient, region, page, newest_first, person_id=person_id, where=where
        )

    async def sessions(
        self, session: AsyncSession, patient_id: uuid.UUID, actor: Principal
    ) -> list[DialysisSession]:
        patient = await self.get(session, patient_id, actor)
        rows = await session.execute(
            select(DialysisSession)
            .where(DialysisSession.patient_id == patient.id)
            .order_by(DialysisSession.on)
        )
        return list(rows.scalars())

    async def report(self, session: AsyncSession, region: str, year: int) -> schemas.DialysisReport:
        """Patients, sessions and subsidy of the year, by the sessions' region one level
        down; the subsidy is the sum of what each session earned."""
        length = child_length(region)
        group = func.substr(DialysisSession.region_code, 1, length)
        rows = await session.execute(
            select(
                group,
                func.count(func.distinct(DialysisSession.person_id)),
                func.count(DialysisSession.id),
                func.coalesce(func.sum(DialysisSession.subsidy), 0),
            )
            .where(
                DialysisSession.region_code.startswith(region_prefix(region)),
                DialysisSession.year == year,
            )
            .group_by(group)
            .order_by(group)
        )
        regions = [
            schemas.DialysisRow(
                region_code=child_code(code, length),
                patients=patients,
                sessions=sessions,
                subsidy_total=Decimal(subsidy).quantize(CENT),
            )
            for code, patients, sessions, subsidy in rows
        ]
        # Distinct patients of the whole region: a patient who moved counts once.
        patients = (
            await session.execute(
                select(func.count(func.distinct(DialysisSession.person_id))).where(
                    DialysisSession.region_code.startswith(region_prefix(region)),
                    DialysisSession.year == year,
                )
            )
        ).scalar_one()
        total = schemas.DialysisRow(
            region_code=region,
            patients=patients,
            sessions=sum(r.sessions for r in regions),
            subsidy_total=sum((r.subsidy_total for r in regions), Decimal("0.00")),
        )
        return schemas.DialysisReport(year=year, total=total, regions=regions)


def dialysis_open(detail: str = "the person has an open dialysis record") -> Problem:
    return errors.DIALYSIS_OPEN(detail)


def duplicate_session(on: object = None, which: str = "") -> Problem:
    return errors.DUPLICATE_SESSION(f"a session on {on or 'that day'} is already recorded{which}")


def _audit_view(patient: DialysisPatient) -> dict:
    return {
        "status": patient.status,
        "started_on": patient.started_on.isoformat(),
        "facility": patient.facility,
        "ended_on": patient.ended_on.isoformat() if patient.ended_on else None,
        "end_reason": patient.end_reason,
    }


def _started(patient: DialysisPatient) -> health_events.DialysisStarted:
    return health_events.DialysisStarted(
        enrolment_id=patient.id,
        **event_refs(patient, patient.started_on.year),
        started_on=patient.started_on,
        facility=patient.facility,
    )


def _ended(patient: DialysisPatient) -> health_events.DialysisEnded:
    return health_events.DialysisEnded(
        dialysis_id=patient.id,
        **event_refs(patient, patient.ended_on.year),
        started_on=patient.started_on,
        ended_on=patient.ended_on,
        reason=patient.end_reason,
    )


#: A patient's changes: the audit view; its events carry it as they start or end.
patient_changes = changes.of(view=_audit_view)


def _session_recorded(
    record: DialysisSession, patient: DialysisPatient
) -> health_events.DialysisSessionRecorded:
    """A session as its event carries it."""
    return health_events.DialysisSessionRecorded(
        session_id=record.id,
        dialysis_id=patient.id,
        **event_refs(patient, record.year),
        on=record.on,
        subsidy=record.subsidy,
    )
