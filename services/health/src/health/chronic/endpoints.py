"""门诊慢性病证明 endpoints: issue, list, read, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from contracts.region import RegionCode
from health.auth import HealthRead, HealthWrite
from health.chronic import schemas
from health.chronic.service import ChronicService, certificate_out
from kit.app import ReadSessionDep, SessionDep
from kit.auth import region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(tags=["chronic"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> ChronicService:
    return ChronicService(clock)


ServiceDep = Annotated[ChronicService, Depends(get_service)]


@router.post(
    "/chronic-certificates",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a 门诊慢性病 certificate to a person",
    description="One valid certificate a person and disease at a time (409 "
    "`CERTIFICATE_EXISTS`). Publishes `health.chronic_certificate.issued` (no disease).",
)
async def issue_certificate(
    body: schemas.CertificateCreate, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.CertificateOut:
    return certificate_out(await service.issue(session, body, actor))


@router.get("/chronic-certificates", summary="Certificates of a region or a person")
async def list_certificates(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    paging: Paging,
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
    person_id: Annotated[uuid.UUID | None, Query(description="One person's certificates")] = None,
    certificate_status: Annotated[
        Literal["active", "revoked"] | None, Query(alias="status")
    ] = None,
) -> Page[schemas.CertificateOut]:
    region = region_in_scope(actor, region, field="query.region")
    items, total = await service.search(
        session, region, paging, person_id=person_id, status=certificate_status
    )
    return Page(
        items=[certificate_out(c) for c in items],
        total=total,
        page=paging.page,
        size=paging.size,
    )


@router.get("/chronic-certificates/{certificate_id}", summary="One certificate")
async def get_certificate(
    certificate_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.CertificateOut:
    return certificate_out(await service.get(session, certificate_id, actor))


@router.post(
    "/chronic-certificates/{certificate_id}/revocation",
    summary="Revoke a certificate with a reason",
)
async def revoke_certificate(
    certificate_id: uuid.UUID,
    body: schemas.CertificateRevocation,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.CertificateOut:
    return certificate_out(await service.revoke(session, certificate_id, body.reason, actor))
