"""Helpers (帮扶责任人): assignments with load limits, visit logs and the two reports of
DOMAIN §2.8 (visits below the monthly minimum; poor households without a helper).

Assignments and visits are about a household, so their events are household events: each
bumps the household's version through :meth:`HouseholdService.record` and is ordered with
the household's other events (the gateway shows the helper on the household's status)."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import HelperRank, HelperRole, MonitoringCategory
from contracts.events import registry as events
from contracts.region import region_prefix
from kit.auth import Principal, ensure_in_region, ensure_visible
from kit.pagination import PageParams
from kit.problems import not_found
from registry import errors
from registry import policy as p
from registry.events import changes
from registry.helpers import schemas
from registry.households.service import HouseholdService
from registry.models import Helper, HelperAssignment, HelperVisit, Household, Region
from registry.policy import policy
from registry.regions.scope import EXITED_STATES, POOR_STATES, head_name_of

#: Households that may get a helper: the poor, the exited (脱贫不脱帮扶, DOMAIN §1.6) and any
#: household under 防返贫监测 (边缘户, 突发严重困难户), whatever its poverty state.
HELPED_STATES = frozenset(s.value for s in (*POOR_STATES, *EXITED_STATES))
MAX_LOAD = {
    HelperRank.section_level: p.HELPER_MAX_LOAD_SECTION_LEVEL,
    HelperRank.ordinary: p.HELPER_MAX_LOAD_ORDINARY,
}


def mask_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 1) + phone[-4:]


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, number = (int(part) for part in month.split("-"))
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


def brief(helper: Helper) -> schemas.HelperBrief:
    return schemas.HelperBrief(
        id=helper.id, name=helper.name, rank=helper.rank, work_unit=helper.work_unit
    )


def _view(assignment: HelperAssignment, helper: Helper) -> dict[str, Any]:
    """What the audit log keeps of an assignment (the helper's phone stays out)."""
    return {
        "assignment_id": str(assignment.id),
        "helper_id": str(helper.id),
        "helper_name": helper.name,
        "role": assignment.role,
        "start_date": assignment.start_date.isoformat(),
        "end_date": assignment.end_date.isoformat() if assignment.end_date else None,
        "end_reason": assignment.end_reason,
    }


class HelperService:
    def __init__(self, households: HouseholdService) -> None:
        self.households = households
        self.clock = households.clock

    # --- helpers ----------------------------------------------------------------------

    async def get(
        self, session: AsyncSession, helper_id: uuid.UUID, actor: Principal, *, lock: bool = False
    ) -> Helper:
        query = select(Helper).where(Helper.id == helper_id)
        if lock:
            query = query.with_for_update()  # serialises assignments: the load stays exact
        helper = (await session.execute(query)).scalar_one_or_none()
        ensure_visible(actor, helper and helper.region_code, what="helper")
        return helper

    async def load(self, session: AsyncSession, helper_id: uuid.UUID) -> int:
        return (
            await session.execute(
                select(func.count(func.distinct(HelperAssignment.household_id))).where(
                    HelperAssignment.helper_id == helper_id, HelperAssignment.end_date.is_(None)
                )
            )
        ).scalar_one()

    async def max_load(
        self,
        session: AsyncSession,
        helper: Helper,
        *,
        rank: str | None = None,
        year: int | None = None,
    ) -> int:
        """The rank's load limit in the helper's area (policy, by region and year)."""
        key = MAX_LOAD[HelperRank(rank or helper.rank)]
        year = year or self.clock.today().year
        return await policy.value(session, key, region_code=helper.region_code, year=year)

    async def create(
        self, session: AsyncSession, data: schemas.HelperCreate, actor: Principal
    ) -> Helper:
        region = await session.get(Region, data.region_code)
        if region is None:
            raise errors.UNKNOWN_REGION(f"no region with code {data.region_code}")
        ensure_in_region(actor, region.code, field="body.region_code")
        helper = Helper(**data.model_dump())
        session.add(helper)
        await session.flush()
        await self._audit(session, actor, "helper.created", helper, None)
        await session.refresh(helper)
        return helper

    async def update(
        self,
        session: AsyncSession,
        helper_id: uuid.UUID,
        data: schemas.HelperUpdate,
        actor: Principal,
    ) -> Helper:
        helper = await self.get(session, helper_id, actor, lock=True)
        before = self._helper_view(helper)
        changes = data.model_dump(exclude_unset=True)
        for required in ("name", "rank", "work_unit", "active"):
            if required in changes and changes[required] is None:
                raise errors.NULL_NOT_ALLOWED(
                    f"{required} cannot be null (omit it to keep the value)",
                    field=f"body.{required}",
                )
        load = await self.load(session, helper.id)
        if changes.get("active") is False and load:
            raise errors.HELPER_HAS_ASSIGNMENTS(
                f"{helper.name} helps {load} household(s); end or reassign them first"
            )
        if "rank" in changes:
            limit = await self.max_load(session, helper, rank=changes["rank"])
            if load > limit:
                raise errors.HELPER_LOAD_EXCEEDED(
                    f"{helper.name} helps {load} households; a {changes['rank']} helper may "
                    f"help at most {limit}",
                    field="body.rank",
                )
        for key, value in changes.items():
            setattr(helper, key, value.value if hasattr(value, "value") else value)
        session.add(helper)
        await session.flush()
        await self._audit(session, actor, "helper.updated", helper, before)
        await session.refresh(helper)
        return helper

    async def search(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        page: PageParams,
        region: str | None,
        rank: HelperRank | None,
        active: bool | None,
    ) -> tuple[list[tuple[Helper, int]], int]:
        conditions = [Helper.region_code.startswith(actor.region_prefix)]
        if region:
            conditions.append(Helper.region_code.startswith(region_prefix(region)))
        if rank:
            conditions.append(Helper.rank == rank.value)
        if active is not None:
            conditions.append(Helper.active.is_(active))
        total = (
            await session.execute(select(func.count()).select_from(Helper).where(*conditions))
        ).scalar_one()
        load = (
            select(func.count(func.distinct(HelperAssignment.household_id)))
            .where(HelperAssignment.helper_id == Helper.id, HelperAssignment.end_date.is_(None))
            .scalar_subquery()
        )
        rows = await session.execute(
            select(Helper, load)
            .where(*conditions)
            .order_by(Helper.region_code, Helper.name, Helper.id)
            .offset(page.offset)
            .limit(page.size)
        )
        return [tuple(r) for r in rows.all()], total

    # --- assignments ------------------------------------------------------------------

    async def assignments(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[tuple[HelperAssignment, Helper]]:
        await self.households.get(session, household_id, actor)
        rows = await session.execute(
            select(HelperAssignment, Helper)
            .join(Helper, Helper.id == HelperAssignment.helper_id)
            .where(HelperAssignment.household_id == household_id)
            .order_by(HelperAssignment.end_date.is_not(None), HelperAssignment.start_date.desc())
        )
        return [tuple(r) for r in rows.all()]

    async def assign(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        data: schemas.AssignmentCreate,
        actor: Principal,
    ) -> tuple[HelperAssignment, Helper]:
        # Lock order everywhere: household, then helper (no deadlock between two assignments).
        household, members = await self.households.get(
            session, household_id, actor, for_update=True
        )
        if not (
            household.poverty_state in HELPED_STATES
            or household.monitoring_category != MonitoringCategory.none
        ):
            raise errors.HOUSEHOLD_NOT_ELIGIBLE(
                f"the household is {household.poverty_state}; helpers are assigned to registered "
                "(建档立卡, 拟脱贫, 返贫), exited (脱贫不脱帮扶) and monitored households"
            )
        start = self.clock.up_to_today(data.start_date, "body.start_date")
        helper = await self.get(session, data.helper_id, actor, lock=True)
        if not helper.active:
            raise errors.HELPER_INACTIVE(f"{helper.name} is no longer active")
        if not household.region_code.startswith(region_prefix(helper.region_code)):
            raise errors.OUTSIDE_HELPER_AREA(
                f"{helper.name} works in {helper.region_code}; the household is in "
                f"{household.region_code}"
            )
        current = await self._active(session, household.id)
        if any(a.helper_id == helper.id for a, _ in current):
            raise errors.ALREADY_ASSIGNED(f"{helper.name} already helps this household")
        replaced = None
        if data.role == HelperRole.primary:
            primary = next(((a, h) for a, h in current if a.role == HelperRole.primary), None)
            if primary is not None and not data.replace_primary:
                raise errors.PRIMARY_HELPER_EXISTS(
                    f"{primary[1].name} is the household's 帮扶责任人 since "
                    f"{primary[0].start_date}; send replace_primary=true to reassign"
                )
            if primary is not None and start < primary[0].start_date:
                raise errors.START_BEFORE_CURRENT(
                    f"the current primary helper started on {primary[0].start_date}"
                )
            replaced = primary
        load = await self.load(session, helper.id)
        limit = await self.max_load(session, helper, year=start.year)
        if load + 1 > limit:
            raise errors.HELPER_LOAD_EXCEEDED(
                f"{helper.name} ({helper.rank}) already helps {load} household(s); the limit for "
                f"the rank is {limit} (科级领导干部2-3户, 一般干部1户)",
                field="body.helper_id",
            )
        if replaced is not None:
            old, old_helper = replaced
            await self._end(
                session, household, members, old, old_helper, start, "调整帮扶责任人", actor
            )
        assignment = HelperAssignment(
            helper_id=helper.id,
            household_id=household.id,
            role=data.role.value,
            start_date=start,
            assigned_by=actor.subject,
        )
        session.add(assignment)
        await session.flush()  # a concurrent request may win the unique index: registry.conflicts
        await self._published(
            session, events.HELPER_ASSIGNED, household, members, assignment, helper, None, actor
        )
        await session.refresh(assignment)
        return assignment, helper

    async def end(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        assignment_id: uuid.UUID,
        data: schemas.AssignmentEnd,
        actor: Principal,
    ) -> tuple[HelperAssignment, Helper]:
        household, members = await self.households.get(
            session, household_id, actor, for_update=True
        )
        row = (
            await session.execute(
                select(HelperAssignment, Helper)
                .join(Helper, Helper.id == HelperAssignment.helper_id)
                .where(
                    HelperAssignment.id == assignment_id,
                    HelperAssignment.household_id == household.id,
                )
            )
        ).first()
        if row is None:
            raise not_found("assignment")
        assignment, helper = row
        if assignment.end_date is not None:
            raise errors.ASSIGNMENT_ENDED(f"this assignment ended on {assignment.end_date}")
        end = self.clock.up_to_today(data.end_date, "body.end_date")
        if end < assignment.start_date:
            raise errors.END_BEFORE_START(f"the assignment started on {assignment.start_date}")
        await self._end(session, household, members, assignment, helper, end, data.reason, actor)
        await session.refresh(assignment)
        return assignment, helper

    async def _end(self, session, household, members, assignment, helper, end, reason, actor):
        """End an assignment and stage its event (the caller commits)."""
        before = _view(assignment, helper)
        assignment.end_date = end
        assignment.end_reason = reason
        assignment.ended_by = actor.subject
        session.add(assignment)
        await self._published(
            session, events.HELPER_UNASSIGNED, household, members, assignment, helper, before, actor
        )

    async def _published(
        self, session, spec, household, members, assignment, helper, before, actor
    ) -> None:
        """Audit the assignment (before/after) and stage its household event; the caller
        commits."""
        await self.households.record(
            session,
            household,
            members,
            spec,
            _assignment_event(assignment, helper, household),
            actor=actor,
            before=before,
            after=_view(assignment, helper),
        )

    async def end_all(
        self,
        session: AsyncSession,
        household: Household,
        members: list,
        on_date: dt.date,
        reason: str,
        actor: Principal,
    ) -> int:
        """End every active assignment of a household leaving the register (清退, 并户),
        so the helpers' load is freed; the caller commits. Returns how many ended."""
        active = await self._active(session, household.id)
        for assignment, helper in active:
            end = max(on_date, assignment.start_date)
            await self._end(session, household, members, assignment, helper, end, reason, actor)
        return len(active)

    async def _active(
        self, session: AsyncSession, household_id: uuid.UUID
    ) -> list[tuple[HelperAssignment, Helper]]:
        rows = await session.execute(
            select(HelperAssignment, Helper)
            .join(Helper, Helper.id == HelperAssignment.helper_id)
            .where(
                HelperAssignment.household_id == household_id, HelperAssignment.end_date.is_(None)
            )
        )
        return [tuple(r) for r in rows.all()]

    # --- visits -----------------------------------------------------------------------

    async def log_visit(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        data: schemas.VisitCreate,
        actor: Principal,
    ) -> tuple[HelperVisit, Helper]:
        household, members = await self.households.get(
            session, household_id, actor, for_update=True
        )
        day = self.clock.up_to_today(data.visit_date, "body.visit_date")
        helper = await self.get(session, data.helper_id, actor)
        covering = (
            await session.execute(
                select(func.count()).where(
                    HelperAssignment.household_id == household.id,
                    HelperAssignment.helper_id == helper.id,
                    HelperAssignment.start_date <= day,
                    or_(HelperAssignment.end_date.is_(None), HelperAssignment.end_date >= day),
                )
            )
        ).scalar_one()
        if not covering:
            raise errors.HELPER_NOT_ASSIGNED(
                f"{helper.name} was not assigned to this household on {day}"
            )
        visit = HelperVisit(
            helper_id=helper.id,
            household_id=household.id,
            visit_date=day,
            kind=data.kind.value,
            note=data.note,
            recorded_by=actor.subject,
        )
        session.add(visit)
        await session.flush()
        await self.households.record(
            session,
            household,
            members,
            events.HELPER_VISIT_LOGGED,
            events.HelperVisitLogged(
                visit_id=visit.id,
                household_id=household.id,
                region_code=household.region_code,
                helper_id=helper.id,
                helper_name=helper.name,
                visit_date=day,
                kind=visit.kind,
            ),
            actor=actor,
            before=None,
            after={
                "visit_id": str(visit.id),
                "helper_id": str(helper.id),
                "helper_name": helper.name,
                "visit_date": day.isoformat(),
                "kind": visit.kind,
                "note": visit.note,
            },
        )
        await session.refresh(visit)
        return visit, helper

    async def visits(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal, page: PageParams
    ) -> tuple[list[tuple[HelperVisit, Helper]], int]:
        await self.households.get(session, household_id, actor)
        where = HelperVisit.household_id == household_id
        total = (await session.execute(select(func.count()).where(where))).scalar_one()
        rows = await session.execute(
            select(HelperVisit, Helper)
            .join(Helper, Helper.id == HelperVisit.helper_id)
            .where(where)
            .order_by(HelperVisit.visit_date.desc(), HelperVisit.created_at.desc())
            .offset(page.offset)
            .limit(page.size)
        )
        return [tuple(r) for r in rows.all()], total

    # --- reports ----------------------------------------------------------------------

    async def compliance(
        self, session: AsyncSession, region: Region, month: str, page: PageParams
    ) -> tuple[list[schemas.ComplianceRow], int]:
        """Primary helpers assigned at any time in ``month``, with the visits they made to
        the household in it. A helper assigned for part of the month owes the full
        minimum: the rule is per month, and the report shows the assignment dates."""
        first, last = month_bounds(month)
        a = HelperAssignment
        conditions = [
            a.role == HelperRole.primary.value,
            a.start_date <= last,
            or_(a.end_date.is_(None), a.end_date >= first),
            Household.region_code.startswith(region_prefix(region.code)),
        ]
        visits = (
            select(func.count())
            .where(
                HelperVisit.helper_id == a.helper_id,
                HelperVisit.household_id == a.household_id,
                HelperVisit.visit_date.between(first, last),
            )
            .scalar_subquery()
        )
        base = (
            select(
                a, Helper, Household.region_code, Region.name, head_name_of(Household.id), visits
            )
            .join(Helper, Helper.id == a.helper_id)
            .join(Household, Household.id == a.household_id)
            .outerjoin(Region, Region.code == Household.region_code)
            .where(*conditions)
        )
        total = (
            await session.execute(
                select(func.count())
                .select_from(a)
                .join(Household, Household.id == a.household_id)
                .where(*conditions)
            )
        ).scalar_one()
        rows = await session.execute(
            base.order_by(Household.region_code, Helper.name, a.household_id, a.start_date)
            .offset(page.offset)
            .limit(page.size)
        )
        minimum: dict[str, int] = {}
        items = []
        for assignment, helper, code, village, head, count in rows.all():
            if code not in minimum:
                minimum[code] = await policy.value(
                    session, p.HELPER_MIN_VISITS_PER_MONTH, region_code=code, year=first.year
                )
            items.append(
                schemas.ComplianceRow(
                    helper=brief(helper),
                    household_id=assignment.household_id,
                    region_code=code,
                    village_name=village,
                    head_name=head,
                    assigned_from=assignment.start_date,
                    assigned_until=assignment.end_date,
                    visits=count,
                    min_visits=minimum[code],
                    visits_below_min=count < minimum[code],
                )
            )
        return items, total

    async def without_helper(
        self, session: AsyncSession, region: Region, page: PageParams
    ) -> tuple[list[schemas.WithoutHelperRow], int]:
        """Poor households (registered, planned_exit, returned) with no active primary helper."""
        a = HelperAssignment
        has_primary = (
            select(a.id)
            .where(
                a.household_id == Household.id,
                a.role == HelperRole.primary.value,
                a.end_date.is_(None),
            )
            .exists()
        )
        conditions = [
            Household.region_code.startswith(region_prefix(region.code)),
            Household.poverty_state.in_([s.value for s in POOR_STATES]),
            ~has_primary,
        ]
        team = (
            select(func.count())
            .where(and_(a.household_id == Household.id, a.end_date.is_(None)))
            .scalar_subquery()
        )
        total = (
            await session.execute(select(func.count()).select_from(Household).where(*conditions))
        ).scalar_one()
        rows = await session.execute(
            select(Household, Region.name, head_name_of(Household.id), team)
            .outerjoin(Region, Region.code == Household.region_code)
            .where(*conditions)
            .order_by(Household.region_code, Household.created_at, Household.id)
            .offset(page.offset)
            .limit(page.size)
        )
        return [
            schemas.WithoutHelperRow(
                household_id=h.id,
                region_code=h.region_code,
                village_name=village,
                head_name=head,
                poverty_state=h.poverty_state,
                team_members=members,
            )
            for h, village, head, members in rows.all()
        ], total

    # --- shared -----------------------------------------------------------------------

    @staticmethod
    def _helper_view(helper: Helper) -> dict[str, Any]:
        return {
            "name": helper.name,
            "rank": helper.rank,
            "work_unit": helper.work_unit,
            "phone": mask_phone(helper.phone),
            "region_code": helper.region_code,
            "active": helper.active,
        }

    async def _audit(self, session, actor, action, helper, before) -> None:
        await changes.record(
            session,
            helper,
            actor=actor,
            action=action,
            before=before,
            after=self._helper_view(helper),
        )


def _assignment_event(
    assignment: HelperAssignment, helper: Helper, household: Household
) -> events.HelperAssignmentEvent:
    return events.HelperAssignmentEvent(
        assignment_id=assignment.id,
        household_id=household.id,
        region_code=household.region_code,
        helper_id=helper.id,
        helper_name=helper.name,
        helper_rank=helper.rank,
        work_unit=helper.work_unit,
        role=assignment.role,
        start_date=assignment.start_date,
        end_date=assignment.end_date,
        end_reason=assignment.end_reason,
    )
