"""门诊慢性病证明 (DOMAIN §4.3): a person's certificate for a chronic disease, valid until a
date, revocable with a reason. Claims record whether the patient holds a valid one for the
diagnosis (``has_certificate`` in the settlement terms); it does not change the money.
Events carry flags only (DOMAIN §1.7)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from health import errors
from health.chronic import schemas
from health.events import changes
from health.medical.service import MedicalAssessor
from health.models import ChronicCertificate
from health.records import registry_persons
from kit import problems
from kit.auth import Principal
from kit.clock import Clock
from kit.pagination import PageParams
from kit.problems import Problem
from kit.records import getter, one_writer_at_a_time, page_in_region
from persons import event_refs, of_person

ACTIVE = "active"
REVOKED = "revoked"


class ChronicService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def issue(
        self, session: AsyncSession, body: schemas.CertificateCreate, actor: Principal
    ) -> ChronicCertificate:
        person = await registry_persons.named(session, body.person_id, actor)
        if body.issued_on > self.clock.today():
            raise problems.FUTURE_DATE("issued_on is after today", field="body.issued_on")
        # One certificate a person and disease at a time: serialise issuers of the person.
        await one_writer_at_a_time(session, f"chronic_certificates:{person.id}")
        overlapping = (
            await session.execute(
                select(ChronicCertificate.id).where(
                    ChronicCertificate.person_id == person.id,
                    ChronicCertificate.disease_code == body.disease_code,
                    ChronicCertificate.status == ACTIVE,
                    ChronicCertificate.valid_until >= body.issued_on,
                    ChronicCertificate.issued_on <= body.valid_until,
                )
            )
        ).first()
        if overlapping is not None:
            raise certificate_exists(
                f"the person holds a valid certificate for {body.disease_code} in that period "
                f"({overlapping.id}); revoke it first"
            )
        certificate = ChronicCertificate(
            **of_person(person),
            **body.model_dump(exclude={"person_id"}),
        )
        session.add(certificate)
        await session.flush()
        await certificate_changes.created(
            session,
            certificate,
            health_events.CHRONIC_CERTIFICATE_ISSUED,
            actor=actor,
            after=body.model_dump(mode="json"),  # what was certified, as asked
        )
        await MedicalAssessor(self.clock).reassess(session, [certificate.household_id])
        return certificate

    async def revoke(
        self, session: AsyncSession, certificate_id: uuid.UUID, reason: str, actor: Principal
    ) -> ChronicCertificate:
        certificate = await self.get(session, certificate_id, actor, for_update=True)
        if certificate.status != ACTIVE:
            raise errors.NOT_ACTIVE("the certificate was revoked before")
        async with certificate_changes.change(
            session, certificate, health_events.CHRONIC_CERTIFICATE_REVOKED, actor=actor
        ):
            certificate.status = REVOKED
            certificate.revoked_on = self.clock.today()
            certificate.revocation_reason = reason
        await MedicalAssessor(self.clock).reassess(session, [certificate.household_id])
        return certificate

    get = getter(ChronicCertificate, what="chronic certificate")

    async def search(
        self,
        session: AsyncSession,
        region_code: str,
        page: PageParams,
        *,
        person_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> tuple[list[ChronicCertificate], int]:
        where = [] if status is None else [ChronicCertificate.status == status]
        newest_first = [ChronicCertificate.issued_on.desc(), ChronicCertificate.id]
        return await page_in_region(
            session,
            ChronicCertificate,
            region_code,
            page,
            newest_first,
            person_id=person_id,
            where=where,
        )

    @staticmethod
    async def valid_for(
        session: AsyncSession, person_id: uuid.UUID, diagnosis_code: str, on: dt.date
    ) -> ChronicCertificate | None:
        """The person's certificate valid on a day that the diagnosis falls under."""
        rows = await session.execute(
            select(ChronicCertificate)
            .where(
                ChronicCertificate.person_id == person_id,
                ChronicCertificate.status == ACTIVE,
                ChronicCertificate.issued_on <= on,
                ChronicCertificate.valid_until >= on,
                literal(diagnosis_code).startswith(ChronicCertificate.disease_code),
            )
            .limit(1)
        )
        return rows.scalar_one_or_none()


def certificate_out(certificate: ChronicCertificate) -> schemas.CertificateOut:
    return schemas.CertificateOut(**certificate.model_dump(exclude={"version", "created_at"}))


def certificate_exists(
    detail: str = "the person holds a valid certificate for this disease in that period; "
    "revoke it first",
) -> Problem:
    return errors.CERTIFICATE_EXISTS(detail)


def _event(certificate: ChronicCertificate) -> health_events.ChronicCertificateEvent:
    """The certificate as its events carry it."""
    return health_events.ChronicCertificateEvent(
        **event_refs(certificate, (certificate.revoked_on or certificate.issued_on).year),
        certificate_id=certificate.id,
        status=certificate.status,
        issued_on=certificate.issued_on,
        valid_until=certificate.valid_until,
        revoked_on=certificate.revoked_on,
    )


def _audit_view(certificate: ChronicCertificate) -> dict:
    """Its status, and the reason once revoked (what was issued is audited as asked)."""
    if certificate.status == REVOKED:
        return {"status": certificate.status, "reason": certificate.revocation_reason}
    return {"status": certificate.status}


#: A certificate's changes: its audit view and its events' data.
certificate_changes = changes.of(view=_audit_view, data=_event)
