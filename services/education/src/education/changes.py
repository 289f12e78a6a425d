"""The audit log, read back: the latest changes in the caller's region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from education.audit import audit
from education.auth import EducationRead
from kit.app import ReadSessionDep
from kit.audit import AuditEntry
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["changes"], responses=PROBLEM_RESPONSES)


@router.get("/changes", summary="The latest changes recorded in your region, newest first")
async def changes(
    actor: EducationRead,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AuditEntry]:
    rows = await session.execute(
        select(audit.table)
        .where(audit.table.c.region_code.startswith(actor.region_prefix))
        .order_by(audit.table.c.id.desc())
        .limit(limit)
    )
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]
