"""Workflow steps (识别, 退出, 动态调整), 公示 windows and objections: the transactions.

The state machine (:mod:`registry.workflow.machine`) says whether a step is legal; this
layer adds what needs the database or the clock (quorum, windows, objections, the exit
check), records the step with its actor and evidence, and publishes the events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import (
    MonitoringCategory,
    ObjectionStatus,
    PovertyState,
    PublicityPurpose,
    WorkflowStage,
)
from contracts.events import registry as events
from kit import problems
from kit.auth import Principal, ensure_visible
from kit.problems import not_found
from registry import errors
from registry import policy as p
from registry.helpers.service import HelperService
from registry.households.service import HouseholdService, audit_view, survey_values
from registry.models import (
    Adjustment,
    Household,
    Member,
    Objection,
    Publicity,
    Region,
    WorkflowStep,
)
from registry.policy import policy
from registry.workflow import schemas
from registry.workflow.exit_criteria import GatewayClient
from registry.workflow.machine import (
    RULES,
    Action,
    Position,
    Window,
    allowed_actions,
    decide,
)
from registry.workflow.rules import exit_blockers

#: Steps decided at county level (县复审, 建档立卡, 审定, adjustments): need ``registry:approve``.
COUNTY_ACTIONS = frozenset(
    {
        Action.county_review,
        Action.register,
        Action.approve_exit,
        Action.backfill,
        Action.remove,
        Action.return_to_poverty,
        Action.rollback,
        Action.re_include,
    }
)
WINDOW_DAYS = {
    WorkflowStage.village_publicity: p.PUBLICITY_DAYS_VILLAGE,
    WorkflowStage.township_publicity: p.PUBLICITY_DAYS_TOWNSHIP,
    WorkflowStage.county_notice: p.PUBLICITY_DAYS_COUNTY,
    WorkflowStage.exit_publicity: p.EXIT_PUBLICITY_DAYS,
}
STEP_FIELDS = {"action", "evidence", "on_date", "note"}


def position_of(household: Household) -> Position:
    stage = WorkflowStage(household.stage) if household.stage else None
    return PovertyState(household.poverty_state), stage


class WorkflowService:
    def __init__(self, households: HouseholdService, gateway: GatewayClient | None) -> None:
        self.households = households
        self.clock = households.clock
        self.gateway = gateway

    # --- reads ------------------------------------------------------------------------

    async def steps(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> tuple[Household, list[WorkflowStep]]:
        household, _ = await self.households.get(session, household_id, actor)
        rows = await session.execute(
            select(WorkflowStep)
            .where(WorkflowStep.household_id == household_id)
            .order_by(WorkflowStep.id)
        )
        return household, list(rows.scalars())

    async def publicities(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[Publicity]:
        await self.households.get(session, household_id, actor)
        rows = await session.execute(
            select(Publicity)
            .where(Publicity.household_id == household_id)
            .order_by(Publicity.created_at, Publicity.start_date)
        )
        return list(rows.scalars())

    async def objections(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[Objection]:
        await self.households.get(session, household_id, actor)
        rows = await session.execute(
            select(Objection)
            .where(Objection.household_id == household_id)
            .order_by(Objection.created_at)
        )
        return list(rows.scalars())

    # --- steps ------------------------------------------------------------------------

    async def step(
        self,
        session: AsyncSession,
        household_id: uuid.UUID,
        request: Any,
        actor: Principal,
        *,
        authorization: str = "",
    ) -> tuple[Household, list[Member]]:
        action = Action(request.action)
        rule = RULES[action]
        if action in COUNTY_ACTIONS and not actor.has("registry:approve"):
            raise problems.MISSING_SCOPE(
                f"{action.value} ({rule.label}) is decided at county level: it needs the "
                "scope registry:approve"
            )
        household, members = await self.households.get(
            session, household_id, actor, for_update=True
        )
        before = audit_view(household, members)
        today = self.clock.today()
        on_date = self.clock.up_to_today(request.on_date, "body.on_date")
        position = position_of(household)
        window = await self._open_window(session, household.id)
        details = request.model_dump(mode="json", exclude=STEP_FIELDS)
        year = on_date.year

        outcome: Position | None = None
        if action is Action.survey:
            await self._check_surveyors(session, household, request, year)
            outcome = (PovertyState(request.outcome), None)
        elif action in (Action.appraise, Action.appraise_exit):
            details["quorum"] = await self._check_quorum(session, household, request, year)
            if action is Action.appraise:
                approved = PovertyState.appraised if request.approved else PovertyState.rejected
                outcome = (approved, None)
            elif not request.approved:
                raise errors.EXIT_NOT_APPROVED(
                    "the village appraisal did not approve the exit; withdraw it from the plan"
                )
        target = decide(action, position, today=today, window=window, outcome=outcome)

        if action is Action.approve_exit:
            details["criteria"] = await self._check_exit_criteria(household, authorization)

        # --- apply ----------------------------------------------------------------------
        staged: list[tuple] = []  # events before the state change (closing the window)
        if rule.after_window and window is not None:
            staged.append(await self._close_window(session, household, "closed"))
        household.poverty_state, household.stage = target[0].value, target[1]
        await self._apply_fields(session, household, members, action, request, on_date)
        if action is Action.survey and details.get("survey") is not None:
            # the step records the survey as the household got it: the per-capita income
            # computed from the items (the request left it out), not the request's null
            income = household.per_capita_net_income
            details["survey"]["per_capita_net_income"] = None if income is None else str(income)
        if target[0] is PovertyState.removed:  # out of the register: its helpers are freed
            await HelperService(self.households).end_all(
                session,
                household,
                members,
                on_date,
                f"{rule.label} ({request.reason.value})",
                actor,
            )
        if rule.adjustment is not None:
            month = getattr(request, "effective_month", None)
            session.add(
                Adjustment(
                    household_id=household.id,
                    region_code=household.region_code,
                    kind=rule.adjustment.value,
                    effective_month=schemas.month_start(month) if month else on_date.replace(day=1),
                    reason=getattr(getattr(request, "reason", None), "value", None),
                    details=details,
                    evidence=[d.model_dump() for d in request.evidence],
                    actor=actor.subject,
                )
            )
        opened = None
        if rule.opens is not None:
            opened = await self._open(session, household, rule.opens, request, on_date, today)

        for spec, payload in staged:
            await self._side_event(session, household, members, spec, payload, actor)
        await self._moved(
            session,
            household,
            members,
            action=action.value,
            position=position,
            on_date=on_date,
            actor=actor,
            before=before,
            details=details,
            evidence=[d.model_dump() for d in request.evidence],
        )
        if opened is not None:
            opened_event = _publicity_event(opened)
            await self._side_event(
                session, household, members, events.PUBLICITY_OPENED, opened_event, actor
            )
        return household, members

    async def system_step(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        action: Action,
        *,
        actor: Principal,
        details: dict[str, Any],
        evidence: list[dict[str, Any]],
        reason: str | None = None,
        year: int | None = None,
    ) -> None:
        """A step the registry takes itself on another department's event (纳入监测,
        透析患者纳入), in the caller's transaction; the household is already locked.
        Raises IllegalTransition if the household is not where the step starts."""
        before = audit_view(household, members)
        today = self.clock.today()
        position = position_of(household)
        window = await self._open_window(session, household.id)
        rule = RULES[action]
        target = decide(action, position, today=today, window=window)
        staged: list[tuple] = []
        if window is not None and position[0] == PovertyState.publicised:
            # included without waiting for the running 公示: it ends with the registration
            staged.append(await self._close_window(session, household, "closed"))
        household.poverty_state, household.stage = target[0].value, target[1]
        if action is Action.start_monitoring:
            household.monitoring_category = MonitoringCategory.unstable_exited.value
        elif action is Action.auto_register:
            household.identified_year = year or today.year
        if rule.adjustment is not None:
            session.add(
                Adjustment(
                    household_id=household.id,
                    region_code=household.region_code,
                    kind=rule.adjustment.value,
                    effective_month=today.replace(day=1),
                    reason=reason,
                    details=details,
                    evidence=evidence,
                    actor=actor.subject,
                )
            )
        for spec, payload in staged:
            await self._side_event(session, household, members, spec, payload, actor)
        await self._moved(
            session,
            household,
            members,
            action=action.value,
            position=position,
            on_date=today,
            actor=actor,
            before=before,
            details=details,
            evidence=evidence,
        )

    async def _apply_fields(self, session, household, members, action, request, on_date) -> None:
        """Fields of the household a step sets besides its position."""
        if action is Action.survey and request.survey is not None:
            for key, value in survey_values(request.survey, len(members)).items():
                setattr(household, key, value)
            household.survey_recorded_at = self.clock.now()
        elif action in (Action.register, Action.backfill):
            household.identified_year = request.identified_year or on_date.year
        elif action is Action.nominate_exit:
            household.planned_exit_year = request.planned_exit_year
        elif action is Action.withdraw_exit:
            household.planned_exit_year = None
        elif action is Action.approve_exit:
            region = household.region_code
            continuity = await policy.value(
                session, p.EXIT_CONTINUITY_YEARS, region_code=region, year=on_date.year
            )
            monitoring = await policy.value(
                session, p.EXIT_MONITORING_YEARS, region_code=region, year=on_date.year
            )
            household.exit_year = on_date.year
            household.policy_continuity_until = _add_years(on_date, continuity)
            household.monitored_until = _add_years(on_date, monitoring)
        elif action is Action.start_monitoring:
            household.monitoring_category = MonitoringCategory.unstable_exited.value
        elif action is Action.end_monitoring:
            household.monitoring_category = MonitoringCategory.none.value

    # --- rules that need the database -----------------------------------------------------

    async def _check_surveyors(self, session, household, request, year: int) -> None:
        needed = await policy.value(
            session, p.MIN_SURVEYORS, region_code=household.region_code, year=year
        )
        if len(set(request.surveyors)) < needed:
            raise errors.TOO_FEW_SURVEYORS(
                f"a survey is signed by at least {needed} different surveyors (谁排查、谁签字)"
            )

    async def _check_quorum(self, session, household, request, year: int) -> dict[str, Any]:
        """民主评议 quorum: ≥20 representatives, ≥30 in a village of 1000 people or more."""
        region = await session.get(Region, household.region_code)
        code = household.region_code
        large_from = await policy.value(
            session, p.LARGE_VILLAGE_POPULATION, region_code=code, year=year
        )
        population = region.population if region else None
        large = population is None or population >= large_from  # unknown → the stricter band
        key = p.QUORUM_LARGE_VILLAGE if large else p.QUORUM_SMALL_VILLAGE
        quorum = await policy.value(session, key, region_code=code, year=year)
        if request.attendees < quorum:
            size = f"of {population} people" if population is not None else "of unknown size"
            raise errors.QUORUM_NOT_MET(
                f"{request.attendees} representatives present; a village {size} needs at least "
                f"{quorum} (村民代表会议)"
            )
        return {"required": quorum, "village_population": population}

    async def _check_exit_criteria(self, household, authorization: str) -> dict[str, Any]:
        status = await self.gateway.household_status(household.id, authorization)
        blockers = exit_blockers(status)
        if blockers:
            raise errors.EXIT_CRITERIA_NOT_MET(
                "一超两不愁三保障 does not hold: " + "; ".join(blockers)
            )
        return {"gateway_status": status}

    # --- 公示 windows and objections -------------------------------------------------------

    async def _open_window(self, session, household_id: uuid.UUID) -> Window | None:
        publicity = await self._open_publicity(session, household_id)
        if publicity is None:
            return None
        pending = (
            await session.execute(
                select(func.count()).where(
                    Objection.publicity_id == publicity.id,
                    Objection.status == ObjectionStatus.open.value,
                )
            )
        ).scalar_one()
        return Window(WorkflowStage(publicity.stage), publicity.end_date, pending)

    async def _open_publicity(self, session, household_id: uuid.UUID) -> Publicity | None:
        return (
            await session.execute(
                select(Publicity).where(
                    Publicity.household_id == household_id, Publicity.status == "open"
                )
            )
        ).scalar_one_or_none()

    async def _open(self, session, household, opens, request, on_date, today) -> Publicity:
        purpose, stage = opens
        start = request.start_date or today
        if start < on_date:
            raise errors.START_BEFORE_STEP("a 公示 cannot start before the step that opens it")
        days = await policy.value(
            session, WINDOW_DAYS[stage], region_code=household.region_code, year=start.year
        )
        publicity = Publicity(
            household_id=household.id,
            region_code=household.region_code,
            purpose=purpose.value,
            stage=stage.value,
            start_date=start,
            end_date=start + dt.timedelta(days=days - 1),  # N days, the first day included
        )
        session.add(publicity)
        return publicity

    async def _close_window(self, session, household, status: str) -> tuple:
        publicity = await self._open_publicity(session, household.id)
        publicity.status = status
        session.add(publicity)
        return events.PUBLICITY_CLOSED, _publicity_event(publicity)

    async def file_objection(
        self,
        session: AsyncSession,
        publicity_id: uuid.UUID,
        body: schemas.ObjectionCreate,
        actor: Principal,
    ) -> Objection:
        publicity = await session.get(Publicity, publicity_id)
        ensure_visible(actor, publicity and publicity.region_code, what="publicity")
        household, members = await self.households.get(
            session, publicity.household_id, actor, for_update=True
        )
        received = self.clock.up_to_today(body.received_on, "body.received_on")
        if publicity.status != "open" or not (
            publicity.start_date <= received <= publicity.end_date
        ):
            raise errors.PUBLICITY_CLOSED(
                f"objections to this 公示 are received from {publicity.start_date} to "
                f"{publicity.end_date} while it is open (now: {publicity.status})"
            )
        objection = Objection(
            publicity_id=publicity.id,
            household_id=household.id,
            received_on=received,
            channel=body.channel,
            filed_by=body.filed_by,
            content=body.content,
            recorded_by=actor.subject,
        )
        session.add(objection)
        await session.flush()
        await self.households.record(
            session,
            household,
            members,
            events.OBJECTION_FILED,
            _objection_event(objection, household),
            actor=actor,
            before=audit_view(household, members),
        )
        await session.refresh(objection)
        return objection

    async def resolve_objection(
        self,
        session: AsyncSession,
        objection_id: uuid.UUID,
        body: schemas.ObjectionResolve,
        actor: Principal,
    ) -> Objection:
        objection = await session.get(Objection, objection_id)
        if objection is None:
            raise not_found("objection")
        household, members = await self.households.get(
            session, objection.household_id, actor, for_update=True
        )
        await session.refresh(objection, with_for_update=True)
        if objection.status != ObjectionStatus.open.value:
            raise errors.OBJECTION_RESOLVED(
                f"this objection was {objection.status} on {objection.resolved_on}"
            )
        publicity = await session.get(Publicity, objection.publicity_id)
        before = audit_view(household, members)
        upheld = body.outcome == ObjectionStatus.upheld
        inclusion = publicity.purpose == PublicityPurpose.inclusion.value
        if upheld and inclusion and body.consequence is None:
            raise errors.CONSEQUENCE_REQUIRED(
                "an upheld objection to an inclusion sends the household back to survey "
                "(`resurvey`) or rejects it (`reject`)"
            )
        objection.status = body.outcome.value
        objection.finding = body.finding
        objection.resolved_on = self.clock.up_to_today(body.resolved_on, "body.resolved_on")
        objection.resolved_by = actor.subject
        objection.consequence = body.consequence if upheld else None
        objection.evidence = [d.model_dump() for d in body.evidence]
        session.add(objection)

        if upheld and publicity.status == "open":
            position = position_of(household)
            if inclusion:
                target = (
                    PovertyState.surveyed
                    if body.consequence == "resurvey"
                    else PovertyState.rejected
                )
            else:  # an exit that does not hold: off the plan, still registered
                target = PovertyState.registered
                household.planned_exit_year = None
            closed = await self._close_window(session, household, "withdrawn")
            household.poverty_state, household.stage = target.value, None
            await self._side_event(session, household, members, *closed, actor)
            await self._moved(
                session,
                household,
                members,
                action="objection_upheld",
                position=position,
                on_date=objection.resolved_on,
                actor=actor,
                before=before,
                details={"objection_id": str(objection.id), "finding": body.finding},
                evidence=objection.evidence,
            )
            before = audit_view(household, members)
        await self.households.record(
            session,
            household,
            members,
            events.OBJECTION_RESOLVED,
            _objection_event(objection, household),
            actor=actor,
            before=before,
        )
        await session.refresh(objection)
        return objection

    async def _moved(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        *,
        action: str,
        position: Position,
        on_date: dt.date,
        actor: Principal,
        before: dict[str, Any],
        details: dict[str, Any],
        evidence: list[dict[str, Any]],
    ) -> None:
        """Keep the step (actor, evidence) and publish ``state_changed`` for a household
        already moved from ``position`` to where it now stands."""
        session.add(
            WorkflowStep(
                household_id=household.id,
                action=action,
                from_state=position[0].value,
                from_stage=position[1],
                to_state=household.poverty_state,
                to_stage=household.stage,
                actor=actor.subject,
                roles=list(actor.roles),
                on_date=on_date,
                details=details,
                evidence=evidence,
            )
        )
        await self.households.record(
            session,
            household,
            members,
            events.HOUSEHOLD_STATE_CHANGED,
            events.StateChanged(
                **await self.households.snapshot(session, household, members),
                action=action,
                from_state=position[0],
                from_stage=position[1],
                on_date=on_date,
            ),
            actor=actor,
            before=before,
        )

    async def _side_event(self, session, household, members, spec, payload, actor) -> None:
        """A 公示 event that accompanies a step; the step's own audit entry covers it."""
        await self.households.record(
            session,
            household,
            members,
            spec,
            payload,
            actor=actor,
            before=None,
            audited=False,
        )

    def allowed(self, household: Household) -> list[Action]:
        return allowed_actions(position_of(household))


def _publicity_event(publicity: Publicity) -> events.PublicityEvent:
    return events.PublicityEvent(
        publicity_id=publicity.id,
        household_id=publicity.household_id,
        region_code=publicity.region_code,
        purpose=publicity.purpose,
        stage=publicity.stage,
        start_date=publicity.start_date,
        end_date=publicity.end_date,
        status=publicity.status,
    )


def _objection_event(objection: Objection, household: Household) -> events.ObjectionEvent:
    return events.ObjectionEvent(
        objection_id=objection.id,
        publicity_id=objection.publicity_id,
        household_id=household.id,
        region_code=household.region_code,
        received_on=objection.received_on,
        status=objection.status,
        consequence=objection.consequence,
    )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
