"""Household rules and transactions. Every change bumps the household's version, writes
its event to the outbox and its before/after to the audit log, in one transaction."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Row,
    Select,
    String,
    bindparam,
    distinct,
    func,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from contracts.catalogue import EventSpec
from contracts.enums import (
    AlertStatus,
    AssistanceType,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    RegionLevel,
    Relation,
)
from contracts.events import registry as events
from contracts.region import region_level, region_prefix
from contracts.resident_id import birth_date, gender
from kit.audit import AuditEntry
from kit.auth import Principal, ensure_in_region, ensure_visible
from kit.clock import Clock
from kit.db import atomic
from kit.pagination import PageParams
from kit.problems import Problem, not_found
from registry import errors
from registry.audit import audit
from registry.events import (
    changes,
    dimensions_of,
    household_fields,
    member_snapshot,
    poverty_lines,
    snapshot_fields,
)
from registry.households import rules
from registry.households.schemas import (
    HouseholdCreate,
    HouseholdUpdate,
    MemberCreate,
    MemberUpdate,
    StatusSummary,
)
from registry.models import (
    Helper,
    HelperAssignment,
    HelperVisit,
    Household,
    Member,
    Region,
    RiskAlert,
    WorkflowStep,
    audit_table,
)
from registry.pii import IdNumberVault, impersonal

MEMBER_FIELDS = (
    "hukou",
    "education",
    "labour_capacity",
    "disability_level",
    "chronic_illness",
    "critical_illness",
    "migrant_worker",
)

#: Household columns of a search result (with the head's name and the member count).
SUMMARY_COLUMNS = (
    "id",
    "region_code",
    "poverty_state",
    "stage",
    "assistance_type",
    "monitoring_category",
    "primary_cause",
    "planned_exit_year",
    "exit_year",
    "version",
)

#: What the audit log keeps of an event's household snapshot.
AUDITED_SNAPSHOT_FIELDS = tuple(
    f for f in events.HouseholdSnapshot.model_fields if f != "dimensions"
)

#: Household columns a survey sets (a change of any of them is a new survey).
SURVEY_FIELDS = frozenset(
    {
        "survey_year",
        "income_items",
        "per_capita_net_income",
        "food_clothing_secure",
        "safe_drinking_water",
        "has_electricity",
        "has_radio_tv",
        "assets",
        "land_area_mu",
    }
)

#: Survey fields only callers with ``pii:read`` see.
PERSONAL_SURVEY_FIELDS = ("income_items", "per_capita_net_income", "assets", "land_area_mu")


def audit_view(
    household: Household, members: list[Member], snapshot: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the audit log keeps of a household: everything, ID numbers masked. ``snapshot``:
    the household's snapshot as an event built from it carries it (JSON), if there is one.
    Not the dimensions: they are derived (line, clock), not data that changed."""
    if snapshot is None:
        model = events.HouseholdSnapshot(**household_fields(household, members, dimensions={}))
        snapshot = model.model_dump(mode="json")
    view = {name: snapshot[name] for name in AUDITED_SNAPSHOT_FIELDS}
    view.update(
        income_items=household.income_items,
        assets=household.assets,
        land_area_mu=str(household.land_area_mu) if household.land_area_mu is not None else None,
        members=[
            {**dumped, "education": m.education, "groups": m.groups}
            for dumped, m in zip(snapshot["members"], members, strict=True)
        ],
    )
    return view


class HouseholdService:
    def __init__(self, vault: IdNumberVault, clock: Clock | None = None) -> None:
        self.vault = vault
        self.clock = clock or Clock()

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
        ensure_visible(actor, household and household.region_code, what="household")
        if for_update and household.merged_into is not None:
            raise errors.HOUSEHOLD_MERGED(
                f"this household was merged (并户) into {household.merged_into} and is kept "
                "for history only; change that household instead"
            )
        return household, await self.members(session, household.id)

    async def members(self, session: AsyncSession, household_id: uuid.UUID) -> list[Member]:
        rows = await session.execute(
            select(Member)
            .where(Member.household_id == household_id)
            .order_by(Member.relation != Relation.head, Member.birth_date, Member.id)
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
        causes: Sequence[PovertyCause] = (),
        categories: Sequence[MonitoringCategory] = (),
        assistance: Sequence[AssistanceType] = (),
        name: str | None = None,
        planned_exit_year: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Households in the caller's region (narrowed by the filters), newest first: the
        columns of a summary (:data:`SUMMARY_COLUMNS`, ``head_name``, ``member_count``) and
        the total."""
        values: dict[str, Any] = {}  # filter name → its value, bound by that name
        _region_filter(values, "scope", actor.region)
        if region:
            _region_filter(values, "region", region)
        if states:
            values["states"] = [s.value for s in states]
        if causes:
            values["causes"] = [c.value for c in causes]
        if categories:
            values["categories"] = [c.value for c in categories]
        if assistance:
            values["assistance"] = [a.value for a in assistance]
        if planned_exit_year is not None:
            values["planned_exit_year"] = planned_exit_year
        if name:
            values["name_pattern"] = re.sub(r"([/%_])", r"/\1", name) + "%"
        count, page_query = _search_statements(tuple(values))
        bound = {**values, "offset": page.offset, "limit": page.size}
        rows = (await session.execute(page_query, bound)).mappings().all()
        if rows:  # each row carries the total: one round trip for the page and its count
            total = rows[0]["total"]
        elif page.offset:  # past the last page
            total = (await session.execute(count, values)).scalar_one()
        else:
            total = 0
        return [{k: v for k, v in r.items() if k != "total"} for r in rows], total

    async def find_person(
        self, session: AsyncSession, id_number: str, actor: Principal
    ) -> tuple[Household, Member]:
        """The person with this ID number, found through its keyed hash (never a plain index)."""
        found = (
            await session.execute(_PERSON_BY_HASH, {"hash": self.vault.lookup_hash(id_number)})
        ).one_or_none()
        ensure_visible(actor, found and found.Household.region_code, what="person")
        return found.Household, found.Member

    async def match_persons(
        self, session: AsyncSession, id_numbers: list[str], actor: Principal
    ) -> list[Row | None]:
        """For each ID number, the person (``member_id``, ``household_id``,
        ``region_code``) if the caller's region holds them, else None: found through the
        keyed hashes, in one query."""
        hashes = [self.vault.lookup_hash(number) for number in id_numbers]
        rows = await session.execute(
            select(
                Member.id_number_hash,
                Member.id.label("member_id"),
                Member.household_id,
                Household.region_code,
            )
            .join(Household, Member.household_id == Household.id)
            .where(Member.id_number_hash.in_(set(hashes)))
        )
        found = {row.id_number_hash: row for row in rows if actor.can_access(row.region_code)}
        return [found.get(h) for h in hashes]

    async def summary(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> StatusSummary:
        """What the registry states about a household now (the gateway's fresh mode asks):
        its dimensions and current facts. One statement, plus the poverty lines."""
        since = self.clock.today() - dt.timedelta(days=VISIT_WINDOW_DAYS)
        row = (
            await session.execute(_SUMMARY, {"household_id": household_id, "since": since})
        ).one_or_none()
        ensure_visible(actor, row and row.Household.region_code, what="household")
        if actor.is_helper and not await _helps(session, actor.helper_id(), household_id):
            raise not_found("household")  # a helper sees the households assigned to them
        household = row.Household
        lines = await poverty_lines(session)
        return StatusSummary(
            service="registry",
            household_id=household.id,
            region_code=household.region_code,
            as_of=self.clock.now(),
            dimensions=dimensions_of(household, lines, self.clock.today().year),
            facts=dict(
                poverty_state=household.poverty_state,
                stage=household.stage,
                assistance_type=household.assistance_type,
                monitoring_category=household.monitoring_category,
                policy_continuity_until=household.policy_continuity_until,
                monitored_until=household.monitored_until,
                survey_year=household.survey_year,
                open_alerts=row.open_alerts,
                open_alert_kinds=row.open_alert_kinds or [],
                helpers=row.helpers or [],
                visits_last_30_days=row.visits,
            ),
        )

    async def history(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[AuditEntry]:
        await self.get(session, household_id, actor)
        entries = await audit.entries(session, "household", household_id)
        if not actor.has("pii:read"):  # income, assets, birth dates are personal (DOMAIN §9)
            for entry in entries:
                for view in (entry.before, entry.after):
                    for key in PERSONAL_SURVEY_FIELDS:
                        (view or {}).pop(key, None)
                    if view and isinstance(view.get("members"), list):
                        view["members"] = [impersonal(m) for m in view["members"]]
        return entries

    # --- writes -----------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, data: HouseholdCreate, actor: Principal
    ) -> tuple[Household, list[Member]]:
        await self.check_region(session, data.region_code, actor)
        await self.check_id_numbers_free(
            session,
            [m.id_number for m in data.members],
            field="members",
            actor=actor,
            into_region=data.region_code,
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
            assets=[],
        )
        if data.survey:
            _set(household, survey_values(data.survey, len(data.members)))
            household.survey_recorded_at = self.clock.now()
        session.add(household)
        members = [self.new_member(household.id, m) for m in data.members]
        session.add_all(members)
        await self.flush(session)  # a concurrent request with the same person fails here
        if data.poverty_state not in rules.INTAKE_STATES:
            # 存量档案录入: the existing file is the evidence of the state it is entered in
            session.add(
                WorkflowStep(
                    household_id=household.id,
                    action="enter_existing",
                    from_state=data.poverty_state,
                    to_state=data.poverty_state,
                    actor=actor.subject,
                    roles=list(actor.roles),
                    on_date=self.clock.today(),
                    details={},
                    evidence=[d.model_dump() for d in data.evidence],
                )
            )
        await self.record(
            session,
            household,
            members,
            events.HOUSEHOLD_CREATED,
            events.HouseholdCreated(**await self.snapshot(session, household, members)),
            actor=actor,
            before=None,
            new=True,
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
        before = audit_view(household, members)
        changes = data.model_dump(exclude_unset=True, exclude={"survey"})
        causes = changes.get("causes", household.causes)
        primary = changes.get("primary_cause", household.primary_cause)
        try:
            rules.check_primary_cause(causes, primary)
        except rules.RuleViolation as exc:
            raise errors.PRIMARY_CAUSE_NOT_IN_CAUSES(str(exc), field=f"body.{exc.field}") from None
        if data.survey is not None:
            changes.update(survey_values(data.survey, len(members)))
        changed = [k for k, v in changes.items() if getattr(household, k) != v]
        if not changed:
            return household, members
        _set(household, {k: changes[k] for k in changed})
        if SURVEY_FIELDS.intersection(changed):
            household.survey_recorded_at = self.clock.now()
        await self.record(
            session,
            household,
            members,
            events.HOUSEHOLD_UPDATED,
            events.HouseholdUpdated(
                **await self.snapshot(session, household, members), changed=changed
            ),
            actor=actor,
            before=before,
        )
        return household, members

    async def add_member(
        self, session: AsyncSession, household_id: uuid.UUID, data: MemberCreate, actor: Principal
    ) -> tuple[Household, list[Member], Member]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        before = audit_view(household, members)
        try:
            rules.check_one_head([*(m.relation for m in members), data.relation])
        except rules.RuleViolation:
            raise errors.HEAD_EXISTS("a household has exactly one head (户主)") from None
        await self.check_id_numbers_free(
            session, [data.id_number], field=None, actor=actor, into_region=household.region_code
        )
        member = self.new_member(household.id, data)
        session.add(member)
        await self.flush(session)
        members = [*members, member]
        recompute_per_capita(household, len(members))
        await self._member_event(
            session,
            household,
            members,
            member,
            events.MEMBER_ADDED,
            events.MemberAdded,
            actor=actor,
            before=before,
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
        before = audit_view(household, members)
        member = find_member(members, member_id)
        changes = data.model_dump(
            exclude_unset=True,
            exclude={"id_number", "confirm_birth_date_from_id", "confirm_gender_from_id"},
        )
        if "groups" in changes:
            changes["groups"] = [g.value for g in data.groups or []]
        changed = [k for k, v in changes.items() if getattr(member, k) != v]
        if "relation" in changed and Relation.head in (member.relation, changes["relation"]):
            raise errors.HEAD_CHANGE_NOT_ALLOWED(
                "changing the head (户主) is a household adjustment"
            )
        if data.id_number is not None:
            if not member.id_pending:
                raise errors.ID_NUMBER_FIXED(
                    "the person already has an ID number; a wrong number is corrected by "
                    "removing and re-adding the person with evidence"
                )
            identity = self._identity(data.id_number)
            # The recorded birth date and gender were given on registration (a birth
            # certificate); which is right is for the clerk to say, not for us to pick
            # silently: a contradiction is refused unless its flag confirms the ID's value.
            contradictions = [
                (problem, f"the {what} {ours}, but {recorded} is recorded", flag)
                for problem, what, ours, recorded, flag, confirmed in (
                    (
                        errors.BIRTH_DATE_CONTRADICTS_ID,
                        "birth date",
                        identity["birth_date"].isoformat(),
                        member.birth_date.isoformat(),
                        "confirm_birth_date_from_id",
                        data.confirm_birth_date_from_id,
                    ),
                    (
                        errors.GENDER_CONTRADICTS_ID,
                        "gender",
                        str(identity["gender"]),
                        str(member.gender),
                        "confirm_gender_from_id",
                        data.confirm_gender_from_id,
                    ),
                )
                if ours != recorded and not confirmed
            ]
            if contradictions:
                first_problem = contradictions[0][0]
                raise first_problem(
                    f"the ID number gives {'; and '.join(c[1] for c in contradictions)} "
                    "for the person; check the number, or send "
                    f"{' and '.join(f'{c[2]}: true' for c in contradictions)} "
                    "to record what the ID says"
                )
            await self.check_id_numbers_free(
                session,
                [data.id_number],
                field=None,
                actor=actor,
                into_region=household.region_code,
            )
            changes.update(identity)
            changed += ["id_number", "gender", "birth_date"]
        if not changed:
            return household, members, member
        for key, value in changes.items():
            setattr(member, key, value)
        await self._member_event(
            session,
            household,
            members,
            member,
            events.MEMBER_UPDATED,
            events.MemberUpdated,
            actor=actor,
            before=before,
            changed=sorted(set(changed)),
        )
        return household, members, member

    async def remove_member(
        self, session: AsyncSession, household_id: uuid.UUID, member_id: uuid.UUID, actor: Principal
    ) -> tuple[Household, list[Member]]:
        household, members = await self.get(session, household_id, actor, for_update=True)
        before = audit_view(household, members)
        member = find_member(members, member_id)
        remaining = [m for m in members if m.id != member.id]
        try:
            rules.check_one_head(m.relation for m in remaining)
        except rules.RuleViolation:
            raise errors.HEAD_REQUIRED("a household keeps exactly one head (户主)") from None
        await session.delete(member)
        recompute_per_capita(household, len(remaining))
        await self._member_event(
            session,
            household,
            remaining,
            member,
            events.MEMBER_REMOVED,
            events.MemberRemoved,
            actor=actor,
            before=before,
        )
        return household, remaining

    # --- shared by every write ----------------------------------------------------------

    async def snapshot(
        self, session: AsyncSession, household: Household, members: list[Member]
    ) -> dict[str, Any]:
        """The fields of the household's snapshot, dimensions decided: every event about a
        household is built from this."""
        return await snapshot_fields(session, household, members, self.clock)

    async def record(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        spec: EventSpec,
        payload: Any,
        *,
        actor: Principal,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None = None,
        new: bool = False,
        audited: bool = True,
    ) -> None:
        """Record a change of the household through the one write path
        (:meth:`kit.changes.Changes.record`): its version, its event and its audit entry
        (``after`` defaults to the household's :func:`audit_view`)."""
        session.add(household)
        if audited and after is None:
            after = audit_view(household, members)
        await changes.record(
            session,
            household,
            spec,
            payload,
            actor=actor,
            new=new,
            audited=audited,
            before=before,
            after=after,
        )
        await self.flush(session)
        # updated_at is set by the database on UPDATE, and responses show it
        await session.refresh(household)

    async def check_region(self, session: AsyncSession, code: str, actor: Principal) -> Region:
        region = await session.get(Region, code)
        if region is None:
            raise errors.UNKNOWN_REGION(f"no region with code {code}")
        if region.level != RegionLevel.village:
            raise errors.NOT_A_VILLAGE(
                f"{code} is a {region.level}; a household belongs to a village (村)"
            )
        ensure_in_region(actor, code, field="body.region_code")
        return region

    async def flush(self, session: AsyncSession) -> None:
        # A concurrent request that registered the same person first wins: the loser's
        # unique violation becomes ID_NUMBER_TAKEN (see registry.conflicts).
        await session.flush()

    # --- helpers ----------------------------------------------------------------------

    def _identity(self, id_number: str) -> dict[str, Any]:
        return dict(
            id_number_hash=self.vault.lookup_hash(id_number),
            id_number_cipher=self.vault.encrypt(id_number),
            id_number_masked=self.vault.mask(id_number),
            id_pending=False,
            gender=gender(id_number),
            birth_date=birth_date(id_number),
        )

    def new_member(self, household_id: uuid.UUID, data: MemberCreate) -> Member:
        identity = (
            self._identity(data.id_number)
            if data.id_number
            else dict(id_pending=True, gender=data.gender, birth_date=data.birth_date)
        )
        return Member(
            household_id=household_id,
            name=data.name,
            relation=data.relation,
            groups=[g.value for g in data.groups],
            **{f: getattr(data, f) for f in MEMBER_FIELDS},
            **identity,
        )

    async def _member_event(
        self, session, household, members, member, spec, payload_cls, *, actor, before, **extra
    ) -> None:
        payload = payload_cls(
            household_id=household.id,
            region_code=household.region_code,
            member=member_snapshot(member),
            household=events.HouseholdSnapshot(**await self.snapshot(session, household, members)),
            **extra,
        )
        await self.record(session, household, members, spec, payload, actor=actor, before=before)

    async def check_id_numbers_free(
        self,
        session: AsyncSession,
        numbers: list[str | None],
        *,
        field: str | None,
        actor: Principal,
        into_region: str,
    ) -> None:
        """409 if a number belongs to a person of any household: a person is in one household
        at a time, wherever it is. The answer is the same whether that household lies in the
        caller's region or not (where it is, and who it is, stay unsaid: the caller's own
        lookup answers that inside their region), and each refusal is audited on the
        holder's household, so that probing numbers leaves a trace its village can see."""
        hashes = {self.vault.lookup_hash(n): i for i, n in enumerate(numbers) if n}
        if not hashes:
            return
        taken = (
            await session.execute(
                select(Member.id_number_hash, Household.id, Household.region_code)
                .join(Household, Household.id == Member.household_id)
                .where(Member.id_number_hash.in_(hashes))
                .limit(1)
            )
        ).first()
        if taken is not None:
            index = hashes[taken.id_number_hash]
            where = f"body.{field}.{index}.id_number" if field else "body.id_number"
            refused_before = await _refusals_today(session, actor)
            await _audit_refusal(session, actor, taken.id, taken.region_code, into_region, where)
            if refused_before >= REFUSALS_PER_DAY:
                raise errors.TOO_MANY_REFUSALS(
                    f"{refused_before + 1} registrations of yours were refused in 24 hours "
                    f"because the person is registered already (at most {REFUSALS_PER_DAY}); "
                    "the attempts are recorded: ask the county registry office to look for the "
                    "person",
                    field=where,
                    headers={"Retry-After": str(24 * 3600)},
                )
            raise id_taken(where)


async def _helps(session: AsyncSession, helper_id: uuid.UUID, household_id: uuid.UUID) -> bool:
    """The helper is currently assigned to the household."""
    current = select(HelperAssignment.id).where(
        HelperAssignment.helper_id == helper_id,
        HelperAssignment.household_id == household_id,
        HelperAssignment.end_date.is_(None),
    )
    return (await session.execute(current.limit(1))).first() is not None


#: Registrations one caller may have refused in 24 hours as "registered already" before
#: every further one is a 429. The refusal has to say that the person is registered
#: somewhere (a person is in one household at a time), and the caller's own lookup finds
#: those of their region: without a cap, trying numbers would tell who is registered
#: elsewhere. A clerk of a village meets a handful a day; probing needs thousands.
REFUSALS_PER_DAY = 20
REGISTRATION_REFUSED = "person.registration_refused"


async def _refusals_today(session: AsyncSession, actor: Principal) -> int:
    """The caller's audited refusals of the last 24 hours (committed on their own)."""
    async with AsyncSession(session.bind) as own:
        since = func.now() - dt.timedelta(hours=24)
        refusals = select(func.count()).where(
            audit_table.c.action == REGISTRATION_REFUSED,
            audit_table.c.actor == actor.subject,
            audit_table.c.at > since,
        )
        return (await own.execute(refusals)).scalar_one()


async def _audit_refusal(
    session: AsyncSession,
    actor: Principal,
    household_id: uuid.UUID,
    region_code: str,
    into_region: str,
    where: str,
) -> None:
    """Record a refused registration of a person already registered. In a transaction of
    its own: the request's is rolled back with the refusal."""
    async with AsyncSession(session.bind) as own, atomic(own):
        await audit.record(
            own,
            actor=actor,
            action=REGISTRATION_REFUSED,
            entity="household",
            entity_id=household_id,
            region_code=region_code,
            after={
                "reason": "ID_NUMBER_TAKEN",
                "attempted_in": into_region,
                "caller_region": actor.region,
                "field": where,
            },
        )


#: Search filters: each a condition on a bound parameter of its own name.
_CONDITIONS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "scope_code": lambda: Household.region_code == bindparam("scope_code"),
    "scope_pattern": lambda: Household.region_code.like(bindparam("scope_pattern")),
    "region_code": lambda: Household.region_code == bindparam("region_code"),
    "region_pattern": lambda: Household.region_code.like(bindparam("region_pattern")),
    "states": lambda: Household.poverty_state.in_(bindparam("states", expanding=True)),
    "causes": lambda: Household.causes.overlap(bindparam("causes", type_=ARRAY(String))),
    "categories": lambda: Household.monitoring_category.in_(
        bindparam("categories", expanding=True)
    ),
    "assistance": lambda: Household.assistance_type.in_(bindparam("assistance", expanding=True)),
    "planned_exit_year": lambda: Household.planned_exit_year == bindparam("planned_exit_year"),
    "name_pattern": lambda: Household.id.in_(
        select(Member.household_id).where(Member.name.like(bindparam("name_pattern"), escape="/"))
    ),
}


def _region_filter(values: dict[str, Any], name: str, code: str) -> None:
    """Households in the region's subtree. A village is matched by equality, anything larger
    by its prefix pattern (the region pattern index serves ``LIKE '6229%'``)."""
    if region_level(code) == RegionLevel.village:
        values[f"{name}_code"] = code
    else:
        values[f"{name}_pattern"] = region_prefix(code) + "%"


@functools.lru_cache(maxsize=256)
def _search_statements(filters: tuple[str, ...]) -> tuple[Select, Select]:
    """The count and page statements for one combination of filters, built once: building
    and keying a statement cost more than running it, so a request only binds values."""
    conditions = [_CONDITIONS[name]() for name in filters]
    count = select(func.count()).select_from(Household).where(*conditions)
    # The page first, then its members: subqueries in the outer select would run for
    # every row the OFFSET skips too (page 11 cost 220 member lookups, not 20).
    # Newest first, id as the tie-break (an import writes a chunk at one created_at);
    # both descending, so the (region_code, created_at, id) index gives the order.
    page_rows = (
        select(*(getattr(Household, name) for name in SUMMARY_COLUMNS), Household.created_at)
        .where(*conditions)
        .order_by(Household.created_at.desc(), Household.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .subquery("page")
    )
    people = (
        select(
            func.max(Member.name).filter(Member.relation == Relation.head).label("head_name"),
            func.count().label("member_count"),
        )
        .where(Member.household_id == page_rows.c.id)
        .lateral("people")
    )
    page = (
        select(
            *(page_rows.c[name] for name in SUMMARY_COLUMNS),
            people,
            count.scalar_subquery().label("total"),  # PostgreSQL runs it once (an InitPlan)
        )
        .select_from(page_rows.join(people, true()))
        .order_by(page_rows.c.created_at.desc(), page_rows.c.id.desc())
    )
    return count, page


#: Days back a summary counts helpers' visits (the status document's recent visits).
VISIT_WINDOW_DAYS = 30

_SUMMARY = select(
    Household,
    # 返贫致贫风险 not yet 解除 (open, assessed or assisted)
    select(func.count())
    .where(RiskAlert.household_id == Household.id, RiskAlert.status != AlertStatus.closed)
    .scalar_subquery()
    .label("open_alerts"),
    select(func.array_agg(aggregate_order_by(distinct(RiskAlert.kind), RiskAlert.kind)))
    .where(RiskAlert.household_id == Household.id, RiskAlert.status != AlertStatus.closed)
    .scalar_subquery()
    .label("open_alert_kinds"),
    # the current 帮扶小组: public officials, so their names may be shown
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_object("name", Helper.name, "role", HelperAssignment.role),
                HelperAssignment.role.desc(),  # primary first
                Helper.name,
            )
        )
    )
    .select_from(HelperAssignment)
    .join(Helper, Helper.id == HelperAssignment.helper_id)
    .where(HelperAssignment.household_id == Household.id, HelperAssignment.end_date.is_(None))
    .scalar_subquery()
    .label("helpers"),
    select(func.count())
    .where(
        HelperVisit.household_id == Household.id,
        HelperVisit.visit_date >= bindparam("since"),
    )
    .scalar_subquery()
    .label("visits"),
).where(Household.id == bindparam("household_id"))

_PERSON_BY_HASH = (
    select(Household, Member)
    .join(Member, Member.household_id == Household.id)
    .where(Member.id_number_hash == bindparam("hash"))
    # what a lookup answers with: not the survey, JSON and arrays of the whole household
    .options(load_only(Household.id, Household.region_code, Household.poverty_state))
)


def survey_values(survey, persons: int) -> dict[str, Any]:
    try:
        return rules.survey_columns(survey, persons)
    except rules.RuleViolation as exc:
        raise errors.SURVEY_INCONSISTENT(str(exc), field=f"body.{exc.field}") from None


def recompute_per_capita(household: Household, persons: int) -> None:
    """Income items are the household's: per-capita income follows its size."""
    if household.income_items:
        income = (Decimal(v) for v in household.income_items.values())
        household.per_capita_net_income = rules.per_capita(income, persons)


def _set(household: Household, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(household, key, value)


def id_taken(field: str) -> Problem:
    return errors.ID_NUMBER_TAKEN(
        "this ID number is registered to a person of a household already, and a person is in "
        "one household at a time: to bring them here, record a member change (户口迁移) where "
        "they are registered; if you cannot find them, the county registry office can",
        field=field,
    )


def find_member(members: list[Member], member_id: uuid.UUID) -> Member:
    for member in members:
        if member.id == member_id:
            return member
    raise not_found("member")
