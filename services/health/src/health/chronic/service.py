"""门诊慢性病证明 (DOMAIN §4.3): a person's certificate for a chronic disease, valid until a
date, revocable with a reason. Claims record whether the patient holds a valid one for the
diagnosis (``has_certificate`` in the settlement terms); it does not change the money.
Events carry flags only (DOMAIN §1.7)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from contracts.events import health as health_events
from contracts.region import region_prefix
from health.audit import audit
from health.chronic import schemas
from health.events import outbox
from health.medical.service import MedicalAssessor
from health.models import ChronicCertificate
from health.records import page_of, record_in_region, registry_persons
from kit.auth import Principal
from kit.clock import Clock
from kit.errors import Problem
from kit.pagination import PageParams

ACTIVE = "active"
REVOKED = "revoked"


class ChronicService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def issue(
        self, session: AsyncSession, body: schemas.CertificateCreate, actor: Principal
    ) -> ChronicCertificate:
        person = await registry_persons.named(
            session, body.person_id, actor, title="Unknown person"
        )
        if body.issued_on > self.clock.today():
            raise Problem(
                422, "Date in the future", "issued_on is after today", field="body.issued_on"
            )
        # One certificate a person and disease at a time: serialise issuers of the person.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"chronic_certificates:{person.id}"},
        )
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
            person_id=person.id,
            household_id=person.household_id,
            region_code=person.region_code,
            **body.model_dump(exclude={"person_id"}),
        )
        session.add(certificate)
        await session.flush()
        await self._publish(session, certificate, health_events.CHRONIC_CERTIFICATE_ISSUED)
        await audit.record(
            session,
            actor=actor,
            action=health_events.CHRONIC_CERTIFICATE_ISSUED.name,
            entity="chronic_certificate",
            entity_id=certificate.id,
            region_code=certificate.region_code,
            after=body.model_dump(mode="json"),
        )
        await MedicalAssessor(self.clock).reassess(session, [certificate.household_id])
        return certificate

    async def revoke(
        self, session: AsyncSession, certificate_id: uuid.UUID, reason: str, actor: Principal
    ) -> ChronicCertificate:
        certificate = await self.get(session, certificate_id, actor, for_update=True)
        if certificate.status != ACTIVE:
            raise Problem(
                409, "Already revoked", "the certificate was revoked before", code="NOT_ACTIVE"
            )
        certificate.status = REVOKED
        certificate.revoked_on = self.clock.today()
        certificate.revocation_reason = reason
        certificate.version += 1
        await self._publish(session, certificate, health_events.CHRONIC_CERTIFICATE_REVOKED)
        await audit.record(
            session,
            actor=actor,
            action=health_events.CHRONIC_CERTIFICATE_REVOKED.name,
            entity="chronic_certificate",
            entity_id=certificate.id,
            region_code=certificate.region_code,
            before={"status": ACTIVE},
            after={"status": REVOKED, "reason": reason},
        )
        await MedicalAssessor(self.clock).reassess(session, [certificate.household_id])
        return certificate

    async def get(
        self,
        session: AsyncSession,
        certificate_id: uuid.UUID,
        actor: Principal,
        *,
        for_update: bool = False,
    ) -> ChronicCertificate:
        return await record_in_region(
            session,
            ChronicCertificate,
            certificate_id,
            actor,
            what="chronic certificate",
            for_update=for_update,
        )

    async def search(
        self,
        session: AsyncSession,
        region_code: str,
        page: PageParams,
        *,
        person_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> tuple[list[ChronicCertificate], int]:
        where = [ChronicCertificate.region_code.startswith(region_prefix(region_code))]
        if person_id is not None:
            where.append(ChronicCertificate.person_id == person_id)
        if status is not None:
            where.append(ChronicCertificate.status == status)
        return await page_of(
            session,
            ChronicCertificate,
            where,
            [ChronicCertificate.issued_on.desc(), ChronicCertificate.id],
            page,
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

    async def _publish(
        self, session: AsyncSession, certificate: ChronicCertificate, spec: EventSpec
    ) -> None:
        await outbox.add(
            session,
            spec,
            aggregate_id=certificate.id,
            region=certificate.region_code,
            sequence=certificate.version,
            data=health_events.ChronicCertificateEvent(
                household_id=certificate.household_id,
                person_id=certificate.person_id,
                region_code=certificate.region_code,
                policy_year=(certificate.revoked_on or certificate.issued_on).year,
                certificate_id=certificate.id,
                status=certificate.status,
                issued_on=certificate.issued_on,
                valid_until=certificate.valid_until,
                revoked_on=certificate.revoked_on,
            ),
        )


def certificate_out(certificate: ChronicCertificate) -> schemas.CertificateOut:
    return schemas.CertificateOut(**certificate.model_dump(exclude={"version", "created_at"}))


def certificate_exists(
    detail: str = "the person holds a valid certificate for this disease in that period; "
    "revoke it first",
) -> Problem:
    return Problem(
        409,
        "Certificate already held",
        detail,
        code="CERTIFICATE_EXISTS",
        field="body.disease_code",
    )
