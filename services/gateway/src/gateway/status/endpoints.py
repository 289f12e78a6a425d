"""Household status for phones and dashboards: one household, a helper's households, and
a village's households filtered by what is not ok. Answered from the projection; one
household can also be asked fresh of the owning services. Who sees what (names, a
helper's own households): ``gateway.status.access``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from contracts.enums import PovertyState, describe
from contracts.region import RegionCode, region_prefix
from contracts.status import Dimension, DimensionState
from gateway.auth import StatusRead
from gateway.models import HouseholdStatus, helper_households_table, household_table
from gateway.status.access import assigned_only, shows_names
from gateway.status.cache import MISSES, StatusCache, cached_status
from gateway.status.document import is_shown, status_bytes, status_document, without_names
from gateway.status.fast_path import ROUTE
from gateway.status.fresh import merge
from gateway.status.schemas import HouseholdStatusOut
from kit.app import ReadSessionDep
from kit.auth import ensure_visible, region_in_scope
from kit.clock import Clock, get_clock
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, PageParams, Paging
from kit.problems import not_found

router = APIRouter(tags=["status"], responses=PROBLEM_RESPONSES)
ClockDep = Annotated[Clock, Depends(get_clock)]


@router.get(
    ROUTE,
    summary="Household status: 两不愁三保障 dimensions, exit readiness, risk alerts, helper",
    response_model=HouseholdStatusOut,
)
async def household_status(
    household_id: uuid.UUID,
    actor: StatusRead,
    session: ReadSessionDep,
    request: Request,
    clock: ClockDep,
    fresh: Annotated[
        bool,
        Query(
            description="Ask the owning services now (each with a short timeout) instead of "
            "answering from the projection; a service that does not answer is reported "
            "`unknown` with the reason"
        ),
    ] = False,
) -> Response:
    # The usual read is answered from memory before reaching here (fast_path); this is
    # the full way, and what it renders is kept for the next reader.
    cache: StatusCache = request.app.state.status_cache
    with cache.filling() as store:
        row = (
            (
                await session.execute(
                    select(household_table).where(household_table.c.household_id == household_id)
                )
            )
            .mappings()
            .first()
        )
        if not is_shown(row):
            raise not_found("household")
        today = clock.today()
        cached = cached_status(row, today)
        store(str(household_id), cached)
    ensure_visible(actor, row["region_code"], what="household")
    helper = assigned_only(actor)
    if helper is not None and str(helper) not in cached.helper_ids:
        raise not_found("household")  # another helper's household: as if absent too
    names = shows_names(actor)
    if not fresh:
        MISSES.inc()
        return _json(
            cached.body if names else without_names(cached.body, cached.name_start, cached.name_end)
        )
    answers = await request.app.state.sources.ask_all(
        household_id, request.headers["authorization"]
    )
    document = status_document(row, today, names=names)
    return _json(status_bytes(merge(document, answers, clock.now())))


@router.get(
    "/households",
    summary="Households of a region with their status (a village cadre's list)",
    description="A helper (帮扶责任人) sees only the households assigned to them. The head's "
    "name is shown with `pii:read` only.",
)
async def list_households(
    actor: StatusRead,
    session: ReadSessionDep,
    clock: ClockDep,
    paging: Paging,
    region: Annotated[
        RegionCode | None,
        Query(description="A region inside yours (default: your whole region)"),
    ] = None,
    not_ok: Annotated[
        list[Dimension] | None,
        Query(description="Only households where these dimensions are `not_ok`"),
    ] = None,
    poverty_state: Annotated[
        list[PovertyState] | None, Query(description=describe(PovertyState))
    ] = None,
) -> Page[HouseholdStatusOut]:
    region = region_in_scope(actor, region, field="query.region")
    query = _shown().where(household_table.c.region_code.startswith(region_prefix(region)))
    for dimension in not_ok or []:
        query = query.where(
            household_table.c.dimensions[dimension.value]["status"].astext
            == DimensionState.not_ok.value
        )
    if poverty_state:
        query = query.where(household_table.c.poverty_state.in_([s.value for s in poverty_state]))
    helper = assigned_only(actor)
    if helper is not None:
        query = query.where(_helped_by(helper))
    return await _page(session, query, paging, clock, names=shows_names(actor))


@router.get(
    "/me/households",
    summary="The households you help (帮扶责任人), each with its status",
)
async def my_households(
    actor: StatusRead,
    session: ReadSessionDep,
    clock: ClockDep,
    paging: Paging,
) -> Page[HouseholdStatusOut]:
    query = _shown().where(
        _helped_by(actor.helper_id()),
        household_table.c.region_code.startswith(actor.region_prefix),
    )
    return await _page(session, query, paging, clock, names=shows_names(actor))


def _helped_by(helper: uuid.UUID):
    return household_table.c.household_id.in_(
        select(helper_households_table.c.household_id).where(
            helper_households_table.c.helper_id == helper
        )
    )


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _shown() -> Select:
    return select(household_table).where(HouseholdStatus.registry_event_id.is_not(None))


async def _page(session, query: Select, paging: PageParams, clock: Clock, *, names: bool) -> Page:
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(household_table.c.region_code, household_table.c.household_id)
        .offset(paging.offset)
        .limit(paging.size)
    )
    today = clock.today()
    return Page(
        items=[status_document(row, today, names=names) for row in rows.mappings()],
        total=total,
        page=paging.page,
        size=paging.size,
    )
