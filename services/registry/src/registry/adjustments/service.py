"""Household composition changes (自然增减, 户内人员增减, 并户): the transactions.

Every change keeps each person in exactly one household: members move by changing their
``household_id`` under row locks on every household involved (taken in id order, so two
changes never deadlock), and the unique keyed hash of the ID number refuses a second copy
of a person. Each household involved gets an ``adjustments`` row (kind, effective month,
evidence) and a ``registry.household.adjusted`` event, in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import AdjustmentKind, PovertyState, Relation
from contracts.events import registry as events
from kit import problems
from kit.auth import Principal
from registry import errors
from registry.adjustments.schemas import ChangeRequest, Join, Leave, Merge, Move, kind_of
from registry.helpers.service import HelperService
from registry.households.service import (
    HouseholdService,
    audit_view,
    find_member,
    recompute_per_capita,
)
from registry.models import Adjustment, Household, Member, Publicity
from registry.workflow.schemas import month_start


class AdjustmentService:
    def __init__(self, households: HouseholdService) -> None:
        self.households = households
        self.clock = households.clock

    async def list(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[Adjustment]:
        await self.households.get(session, household_id, actor)
        rows = await session.execute(
            select(Adjustment)
            .where(Adjustment.household_id == household_id)
            .order_by(Adjustment.at, Adjustment.id)
        )
        return list(rows.scalars())

    async def apply(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        change: ChangeRequest,
        actor: Principal,
    ) -> tuple[Household, list[Member]]:
        """Apply ``change`` to the household (and the other one of a move or merge)."""
        if isinstance(change, Merge) and not actor.has("registry:approve"):
            raise problems.MISSING_SCOPE(
                "并户 is decided at county level: it needs the scope registry:approve"
            )
        other_id = getattr(change, "to_household_id", None) or getattr(
            change, "into_household_id", None
        )
        if other_id == household_id:
            raise errors.SAME_HOUSEHOLD(
                "a person moves, or a household merges, into a different household",
                field="body.to_household_id"
                if isinstance(change, Move)
                else "body.into_household_id",
            )
        locked = await self._lock(session, [household_id, *([other_id] if other_id else [])], actor)
        household, members = locked[household_id]
        if isinstance(change, Join):
            await self._join(session, household, members, change, actor)
        elif isinstance(change, Leave):
            await self._leave(session, household, members, change, actor)
        else:
            target, target_members = locked[other_id]
            if isinstance(change, Move):
                await self._move(session, household, members, target, target_members, change, actor)
            else:
                await self._merge(
                    session, household, members, target, target_members, change, actor
                )
        return household, await self.households.members(session, household.id)

    # --- the four changes -------------------------------------------------------------

    async def _join(self, session, household, members, change: Join, actor) -> None:
        before = audit_view(household, members)
        await self.households.check_id_numbers_free(
            session,
            [change.member.id_number],
            field="member",
            actor=actor,
            into_region=household.region_code,
        )
        member = self.households.new_member(household.id, change.member)
        session.add(member)
        await self.households.flush(session)  # a concurrent join of the same person fails here
        members = [*members, member]
        recompute_per_capita(household, len(members))
        await self._adjusted(session, household, members, change, actor, before, joined=[member.id])

    async def _leave(self, session, household, members, change: Leave, actor) -> None:
        before = audit_view(household, members)
        member = find_member(members, change.member_id)
        remaining = self._without(members, member, change)
        await session.delete(member)
        recompute_per_capita(household, len(remaining))
        await self._adjusted(session, household, remaining, change, actor, before, left=[member.id])

    async def _move(self, session, source, members, target, target_members, change: Move, actor):
        before_source = audit_view(source, members)
        before_target = audit_view(target, target_members)
        member = find_member(members, change.member_id)
        remaining = self._without(members, member, change)
        member.household_id, member.relation = target.id, change.relation.value
        session.add(member)
        arrived = [*target_members, member]
        recompute_per_capita(source, len(remaining))
        recompute_per_capita(target, len(arrived))
        details = {"to_household_id": str(target.id)}
        await self._adjusted(
            session,
            source,
            remaining,
            change,
            actor,
            before_source,
            left=[member.id],
            related=target.id,
            details=details,
        )
        await self._adjusted(
            session,
            target,
            arrived,
            change,
            actor,
            before_target,
            joined=[member.id],
            related=source.id,
            details={"from_household_id": str(source.id)},
        )

    async def _merge(self, session, source, members, target, target_members, change: Merge, actor):
        known = {m.id for m in members}
        strangers = sorted(str(i) for i in change.relations if i not in known)
        if strangers:
            raise errors.NOT_A_MEMBER(
                f"not members of this household: {', '.join(strangers)}", field="body.relations"
            )
        head = next(m for m in members if m.relation == Relation.head)
        if head.id not in change.relations:
            raise errors.HEAD_RELATION_REQUIRED(
                f"{head.name} is the head (户主) of this household; give their relation to "
                "the head of the household they join"
            )
        if await self._has_open_publicity(session, source.id):
            raise errors.PUBLICITY_OPEN(
                "this household is under 公示; finish or withdraw it before merging"
            )
        before_source = audit_view(source, members)
        before_target = audit_view(target, target_members)
        for member in members:
            member.household_id = target.id
            member.relation = change.relations.get(member.id, member.relation)
            session.add(member)
        arrived = [*target_members, *members]
        moved = [m.id for m in members]
        # The merged household is kept for history: no members, out of the register, its
        # helpers freed (the household it joined keeps its own).
        source.merged_into = target.id
        source.poverty_state, source.stage = PovertyState.removed.value, None
        await HelperService(self.households).end_all(
            session, source, [], self.clock.today(), "并户", actor
        )
        recompute_per_capita(target, len(arrived))
        await self._adjusted(
            session,
            source,
            [],
            change,
            actor,
            before_source,
            left=moved,
            related=target.id,
            details={"merged_into": str(target.id), "from_state": before_source["poverty_state"]},
        )
        await self._adjusted(
            session,
            target,
            arrived,
            change,
            actor,
            before_target,
            joined=moved,
            related=source.id,
            details={"merged_from": str(source.id)},
        )

    # --- helpers ----------------------------------------------------------------------

    async def _lock(
        self, session: AsyncSession, ids: list[uuid.UUID], actor: Principal
    ) -> dict[uuid.UUID, tuple[Household, list[Member]]]:
        """Lock every household involved, in id order (concurrent changes never deadlock)."""
        return {
            i: await self.households.get(session, i, actor, for_update=True) for i in sorted(ids)
        }

    @staticmethod
    def _without(members: list[Member], member: Member, change: Leave | Move) -> list[Member]:
        """The members who stay; a leaving head hands over to ``new_head_member_id``."""
        remaining = [m for m in members if m.id != member.id]
        if member.relation != Relation.head:
            if change.new_head_member_id is not None:
                raise errors.HEAD_NOT_LEAVING(
                    "new_head_member_id is only for a head (户主) who leaves"
                )
            return remaining
        if not remaining:
            raise errors.LAST_MEMBER(
                "the household's last person cannot leave it; a household that ceases to "
                "exist is removed (清退, reason household_dissolved) or merged (并户)"
            )
        successor = next((m for m in remaining if m.id == change.new_head_member_id), None)
        if successor is None:
            raise errors.NEW_HEAD_REQUIRED(
                f"{member.name} is the head (户主): name the member who takes over"
            )
        successor.relation = Relation.head.value
        return remaining

    @staticmethod
    async def _has_open_publicity(session: AsyncSession, household_id: uuid.UUID) -> bool:
        found = await session.execute(
            select(Publicity.id).where(
                Publicity.household_id == household_id, Publicity.status == "open"
            )
        )
        return found.first() is not None

    async def _adjusted(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        change: ChangeRequest,
        actor: Principal,
        before: dict[str, Any],
        *,
        joined: list[uuid.UUID] = (),
        left: list[uuid.UUID] = (),
        related: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        kind: AdjustmentKind = kind_of(change)
        month = (
            month_start(change.effective_month)
            if change.effective_month
            else self.clock.today().replace(day=1)
        )
        reason = None if isinstance(change, Merge) else change.cause.value
        session.add(
            Adjustment(
                household_id=household.id,
                region_code=household.region_code,
                kind=kind.value,
                effective_month=month,
                reason=reason,
                details={
                    "change": change.change,
                    "reason_text": change.reason_text,
                    "members_joined": [str(i) for i in joined],
                    "members_left": [str(i) for i in left],
                    **(details or {}),
                },
                evidence=[d.model_dump() for d in change.evidence],
                actor=actor.subject,
            )
        )
        await self.households.record(
            session,
            household,
            members,
            events.HOUSEHOLD_ADJUSTED,
            events.HouseholdAdjusted(
                **await self.households.snapshot(session, household, members),
                kind=kind,
                effective_month=month,
                reason=reason,
                members_joined=list(joined),
                members_left=list(left),
                related_household_id=related,
            ),
            actor=actor,
            before=before,
        )
