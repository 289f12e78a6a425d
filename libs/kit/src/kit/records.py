"""Reading a service's records the same way everywhere: one by id within the caller's
region (a service's ``get``), or one page of a search in a region; and writers of the same
thing one at a time. Every record read here has a ``region_code`` (and, to filter by person,
a ``person_id``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.region import region_prefix
from kit.auth import Principal, ensure_visible
from kit.pagination import PageParams

Record = TypeVar("Record")


async def record_in_region(
    session: AsyncSession,
    model: type[Record],
    record_id: uuid.UUID,
    actor: Principal,
    *,
    what: str,
    for_update: bool = False,
) -> Record:
    """The record with this id; outside the caller's region it is as absent (404)."""
    query = select(model).where(model.id == record_id)  # type: ignore[attr-defined]
    if for_update:
        query = query.with_for_update()
    record = (await session.execute(query)).scalar_one_or_none()
    ensure_visible(actor, record and record.region_code, what=what)  # type: ignore[attr-defined]
    return record


def getter(model: type[Record], *, what: str) -> Callable[..., Awaitable[Record]]:
    """A service's ``get`` (``get = getter(Claim, what="claim")``): the record with this id
    in the caller's region, locked if ``for_update``."""

    async def get(
        _service: object,
        session: AsyncSession,
        record_id: uuid.UUID,
        actor: Principal,
        *,
        for_update: bool = False,
    ) -> Record:
        return await record_in_region(
            session, model, record_id, actor, what=what, for_update=for_update
        )

    return get


async def page_in_region(
    session: AsyncSession,
    model: type[Record],
    region: str,
    page: PageParams,
    order_by: Sequence[Any],
    *,
    person_id: uuid.UUID | None = None,
    where: Sequence[Any] = (),
) -> tuple[list[Record], int]:
    """The records in the region (of one person, if named) that meet every other condition:
    the requested page, and how many there are."""
    conditions = [model.region_code.startswith(region_prefix(region)), *where]  # type: ignore[attr-defined]
    if person_id is not None:
        conditions.append(model.person_id == person_id)  # type: ignore[attr-defined]
    total = (
        await session.execute(select(func.count()).select_from(model).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(model).where(*conditions).order_by(*order_by).offset(page.offset).limit(page.size)
    )
    return list(rows.scalars()), total


async def one_writer_at_a_time(session: AsyncSession, key: str) -> None:
    """Wait until no other transaction holds ``key``, and hold it until this one ends: a
    check that no row is in the way, and the insert after it, cannot interleave with
    another writer's of the same key."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
