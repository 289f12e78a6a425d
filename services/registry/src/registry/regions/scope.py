"""The region a report covers: the one asked for, inside the caller's own subtree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import PovertyState, Relation
from kit.auth import Principal, region_in_scope
from registry import errors
from registry.models import Member, Region

#: Counted as poor (DOMAIN §2.3): incidence numerator, the helper invariant, red flags.
POOR_STATES = (PovertyState.registered, PovertyState.planned_exit, PovertyState.returned)
EXITED_STATES = (PovertyState.exited, PovertyState.exited_monitored)


async def report_region(
    session: AsyncSession, actor: Principal, code: str | None, *, field: str = "query.region"
) -> Region:
    """``code`` (default: the caller's region) if it exists and lies in the caller's subtree."""
    code = region_in_scope(actor, code, field=field)
    region = await session.get(Region, code)
    if region is None:
        raise errors.UNKNOWN_REGION(f"no region with code {code}", field=field)
    return region


def head_name_of(household_id_column):
    """Correlated subquery: the name of the household's head (户主)."""
    return (
        select(Member.name)
        .where(Member.household_id == household_id_column, Member.relation == Relation.head)
        .limit(1)
        .scalar_subquery()
    )
