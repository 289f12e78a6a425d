"""Household rules and transactions. Every change bumps the household's version and
writes its event to the outbox in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import PovertyState, RegionLevel, Relation
from contracts.events import registry as events
from contracts.region import region_prefix
from contracts.resident_id import birth_date, gender
from kit.auth import Principal
from kit.errors import Problem, not_found
from kit.pagination import PageParams
from registry.events import household_fields, member_snapshot, outbox
from registry.households.schemas import HouseholdCreate, HouseholdUpdate, MemberCreate, MemberUpdate
from registry.models import Household, Member, Region
from registry.pii import IdNumberVault


class HouseholdService:
    def __init__(self, vault: IdNumberVault) -> None:
        self.vault = vault

    # --- reads ------------------------------------------------------------------------

    async def get(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        actor: Principal,
        *,
        for_update: bool = False,
    ) -> tuple[Household, list[Member]]:
        """The household and its members; 404 if absent or outside the caller's region."""
        query = select(Household).where(Household.id == household_id)
        if for_update:
            query = query.with_for_update()  # serialises writers: versions stay gap-free
        household = (await session.execute(query)).scalar_one_or_none()
        if household is None or not actor.can_access(household.region_code):
            raise not_found("household")
        return household, await self._members(session, household.id)

    async def _members(self, session: AsyncSession, household_id: uuid.UUID) -> list[Member]:
        rows = await session.execute(
            select(Member)
            .where(Member.household_id == household_id)
            .order_by(Member.relation != Relation.head, Member.birth_date)
        )
        return list(rows.scalars())

    async def search(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        page: PageParams,
        region: str | None = None,
        states: Sequence[PovertyState] = (),
    ) -> tuple[list[tuple[Household, str | None, int]], int]:
        """Households in the caller's region (narrowed by ``region``), newest first."""
        conditions = [Household.region_code.startswith(actor.region_prefix)]
        if region:
            conditions.append(Household.region_code.startswith(region_prefix(region)))
        if states:
            conditions.append(Household.poverty_state.in_([s.value for s in states]))
        total = (
            await session.execute(select(func.count()).select_from(Household).where(*conditions))
        ).scalar_one()
        head_name = (
            select(Member.name)
            .where(Member.household_id == Household.id, Member.relation == Relation.head)
            .limit(1)
            .scalar_subquery()
        )
        member_count = (
            select(func.count()).where(Member.household_id == Household.id).scalar_subquery()
        )
        rows = await session.execute(
            select(Household, head_name, member_count)
            .where(*conditions)
            .order_by(Household.created_at.desc(), Household.id)
            .offset(page.offset)
            .limit(page.size)
        )
        return [tuple(r) for r in rows.all()], total

    # --- writes -----------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, data: HouseholdCreate, actor: Principal
    ) -> tuple[Household, list[Member]]:
        await self._check_region(session, data.region_code, actor)
        await self._check_id_numbers_free(
            session, [m.id_number for m in data.members], field="members"
        )
        household = Household(
            region_code=data.region_code,
            group_no=data.group_no,
            poverty_state=data.poverty_state,
            assistance_type=data.assistance_type,
            monitoring_category=data.monitoring_category,
            causes=[c.value for c in data.causes],
            primary_cause=data.primary_cause,
            identified_year=data.identified_year,
            per_capita_net_income=data.per_capita_net_income,
            version=0,  # _record makes it 1
        )
        session.add(household)
        members = [self._new_member(household.id, m) for m in data.members]
        session.add_all(members)
        await self._record(
            session,
            household,
            events.HOUSEHOLD_CREATED,
            events.HouseholdCreated(**household_fields(household, members)),
        )
        return household, members

    async def update(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        data: HouseholdUpdate,
        actor: Principal,
    ) -> tuple[Household, list[Member]]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        changes = data.model_dump(exclude_unset=True)
        causes = changes.get("causes", household.causes)
        primary = changes.get("primary_cause", household.primary_cause)
        if primary not in causes:
            raise Problem(
                422,
                "Invalid causes",
                "primary_cause must be one of causes",
                code="PRIMARY_CAUSE_NOT_IN_CAUSES",
                field="body.primary_cause",
            )
        changed = [k for k, v in changes.items() if getattr(household, k) != v]
        if not changed:
            return household, members
        for key in changed:
            setattr(household, key, changes[key])
        await self._record(
            session,
            household,
            events.HOUSEHOLD_UPDATED,
            events.HouseholdUpdated(**household_fields(household, members), changed=changed),
        )
        return household, members

    async def add_member(
        self, session: AsyncSession, household_id: uuid.UUID, data: MemberCreate, actor: Principal
    ) -> tuple[Household, list[Member], Member]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        if data.relation == Relation.head:
            raise Problem(
                409,
                "Household already has a head",
                "a household has exactly one head (户主)",
                code="HEAD_EXISTS",
                field="body.relation",
            )
        await self._check_id_numbers_free(session, [data.id_number], field=None)
        member = self._new_member(household.id, data)
        session.add(member)
        members = [*members, member]
        await self._member_event(
            session, household, members, member, events.MEMBER_ADDED, events.MemberAdded
        )
        return household, members, member

    async def update_member(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        member_id: uuid.UUID,
        data: MemberUpdate,
        actor: Principal,
    ) -> tuple[Household, list[Member], Member]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        member = _find(members, member_id)
        changes = data.model_dump(exclude_unset=True)
        changed = [k for k, v in changes.items() if getattr(member, k) != v]
        if "relation" in changed and Relation.head in (member.relation, changes["relation"]):
            raise Problem(
                409,
                "Head cannot change here",
                "changing the head (户主) is a household adjustment",
                code="HEAD_CHANGE_NOT_ALLOWED",
                field="body.relation",
            )
        if not changed:
            return household, members, member
        for key in changed:
            setattr(member, key, changes[key])
        await self._member_event(
            session,
            household,
            members,
            member,
            events.MEMBER_UPDATED,
            events.MemberUpdated,
            changed=changed,
        )
        return household, members, member

    async def remove_member(
        self, session: AsyncSession, household_id: uuid.UUID, member_id: uuid.UUID, actor: Principal
    ) -> tuple[Household, list[Member]]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        member = _find(members, member_id)
        if member.relation == Relation.head:
            raise Problem(
                409,
                "Cannot remove the head",
                "a household keeps exactly one head (户主)",
                code="HEAD_REQUIRED",
            )
        await session.delete(member)
        remaining = [m for m in members if m.id != member.id]
        await self._member_event(
            session, household, remaining, member, events.MEMBER_REMOVED, events.MemberRemoved
        )
        return household, remaining

    # --- helpers ----------------------------------------------------------------------

    def _new_member(self, household_id: uuid.UUID, data: MemberCreate) -> Member:
        return Member(
            household_id=household_id,
            name=data.name,
            id_number_hash=self.vault.lookup_hash(data.id_number),
            id_number_cipher=self.vault.encrypt(data.id_number),
            id_number_masked=self.vault.mask(data.id_number),
            gender=gender(data.id_number),
            birth_date=birth_date(data.id_number),
            relation=data.relation,
            labour_capacity=data.labour_capacity,
        )

    async def _member_event(
        self, session, household, members, member, spec, payload_cls, **extra
    ) -> None:
        payload = payload_cls(
            household_id=household.id,
            region_code=household.region_code,
            member=member_snapshot(member),
            household=events.HouseholdSnapshot(**household_fields(household, members)),
            **extra,
        )
        await self._record(session, household, spec, payload)

    async def _record(self, session: AsyncSession, household: Household, spec, payload) -> None:
        """Bump the household's version, stage the event with it as ``sequence``, commit.

        Every registry change ends here, so state and event are one transaction."""
        household.version += 1
        session.add(household)
        await outbox.add(
            session,
            spec,
            aggregate_id=household.id,
            region=household.region_code,
            sequence=household.version,
            data=payload,
        )
        await self._commit(session)
        await session.refresh(household)

    async def _check_region(self, session: AsyncSession, code: str, actor: Principal) -> None:
        region = await session.get(Region, code)
        if region is None:
            raise Problem(
                422,
                "Unknown region",
                f"no region with code {code}",
                code="UNKNOWN_REGION",
                field="body.region_code",
            )
        if region.level != RegionLevel.village:
            raise Problem(
                422,
                "Not a village",
                f"{code} is a {region.level}; a household belongs to a village (村)",
                code="NOT_A_VILLAGE",
                field="body.region_code",
            )
        if not actor.can_access(code):
            raise Problem(
                403,
                "Outside your region",
                f"{code} is outside the region of your account",
                code="OUTSIDE_REGION",
                field="body.region_code",
            )

    async def _check_id_numbers_free(
        self, session: AsyncSession, numbers: list[str], *, field: str | None
    ) -> None:
        hashes = {self.vault.lookup_hash(n): i for i, n in enumerate(numbers)}
        taken = (
            (
                await session.execute(
                    select(Member.id_number_hash).where(Member.id_number_hash.in_(hashes))
                )
            )
            .scalars()
            .first()
        )
        if taken is not None:
            index = hashes[taken]
            where = f"body.{field}.{index}.id_number" if field else "body.id_number"
            raise _id_taken(where)

    async def _commit(self, session: AsyncSession) -> None:
        try:
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            if "id_number_hash" in str(exc.orig):
                raise _id_taken("body") from None  # a concurrent request took the number first
            raise


def _id_taken(field: str) -> Problem:
    return Problem(
        409,
        "ID number already registered",
        "this person already belongs to another household; a person is in one household at a time "
        "(remove them there first, or record a member change)",
        code="ID_NUMBER_TAKEN",
        field=field,
    )


def _find(members: list[Member], member_id: uuid.UUID) -> Member:
    for member in members:
        if member.id == member_id:
            return member
    raise not_found("member")
