"""Risk alerts (防返贫监测): raised from other departments' events (in the consumer's
transaction) or by hand, and moved forward by people. Household changes go through
HouseholdService.record and the workflow's own steps, so they are versioned, audited and
published like any other."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, not_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from contracts.enums import (
    COUNTED_AS_POOR,
    AlertAssessment,
    AlertKind,
    AlertStatus,
    HukouType,
    MonitoringCategory,
    PovertyState,
)
from contracts.events import CATALOGUE, health
from contracts.events import registry as events
from contracts.region import region_prefix
from kit.auth import Principal, ensure_visible
from kit.envelope import Envelope
from kit.pagination import PageParams
from registry import errors
from registry import policy as p
from registry.households.service import HouseholdService, audit_view
from registry.models import Household, MedicalCost, Member, RiskAlert
from registry.monitoring import rules
from registry.monitoring.schemas import AlertCreate, AlertTransition
from registry.policy import policy
from registry.workflow.machine import Action, IllegalTransition
from registry.workflow.service import WorkflowService

log = logging.getLogger(__name__)

SYSTEM_SUBJECT = "system:monitoring"


def system_actor(region_code: str) -> Principal:
    """The registry acting on another department's event (steps and audit show it)."""
    return Principal(
        subject=SYSTEM_SUBJECT,
        scopes=frozenset({"registry:write"}),
        region=region_code,
        roles=("system",),
    )


def event_evidence(spec: EventSpec, event: Envelope) -> list[dict[str, Any]]:
    """The source event as a 佐证材料 document: its data's SHA-256 and where it is kept."""
    body = json.dumps(event.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return [
        {
            "name": f"{spec.name} 事件",
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "location": f"event:{event.source}/{event.id}",
        }
    ]


async def _locked(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    query = select(Household).where(Household.id == household_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def is_overdue(alert: RiskAlert, today: dt.date) -> bool:
    return alert.status != AlertStatus.closed and alert.due_date < today


class MonitoringService:
    def __init__(self, households: HouseholdService) -> None:
        self.households = households
        self.clock = households.clock
        self.workflow = WorkflowService(households, gateway=None)

    # --- from other departments' events (in the consumer's transaction) ------------------

    async def on_event(self, session: AsyncSession, event: Envelope) -> str | None:
        """Apply one department event; ``"ignored"`` if it does not concern monitoring."""
        spec = CATALOGUE.by_type(event.type)
        payload = spec.payload.model_validate(event.data)
        household = await _locked(session, payload.household_id)
        while household is not None and household.merged_into is not None:
            # 并户: the people (with their member ids) now live in the surviving household
            household = await _locked(session, household.merged_into)
        if household is None:
            log.warning("%s %s: unknown household %s", spec.name, event.id, payload.household_id)
            return "ignored"
        members = await self.households.members(session, household.id)
        person = None
        if payload.person_id is not None:
            person = next((m for m in members if m.id == payload.person_id), None)
            if person is None:
                log.warning(
                    "%s %s: person %s is not a member of household %s",
                    spec.name,
                    event.id,
                    payload.person_id,
                    household.id,
                )
                return "ignored"
        source = dict(
            source_service=spec.producer, source_event_type=event.type, source_event_id=event.id
        )
        evidence = event_evidence(spec, event)
        if isinstance(payload, health.ClaimSettled):
            return await self._claim(session, household, members, payload, source, evidence)
        kind = rules.trigger_kind(payload)
        if kind is None:
            return "ignored"
        await self._raise(
            session,
            household,
            members,
            kind=kind,
            person_id=payload.person_id,
            policy_year=payload.policy_year,
            source=source,
            details=_details(payload),
            evidence=evidence,
            note=None,
            actor=system_actor(household.region_code),
            rural_dialysis_patient=(
                kind == AlertKind.dialysis
                and person is not None
                and person.hukou == HukouType.rural
            ),
        )
        return None

    async def _claim(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        claim: health.ClaimSettled,
        source: dict[str, Any],
        evidence: list[dict[str, Any]],
    ) -> str | None:
        """Keep the claim's out-of-pocket share; alert once the household's year total
        passes max(floor, ratio × annual net income), once per household and year."""
        kept = await session.execute(
            insert(MedicalCost)
            .values(
                claim_id=claim.claim_id,
                household_id=household.id,
                person_id=claim.person_id,
                policy_year=claim.policy_year,
                settled_on=claim.settled_on,
                out_of_pocket=claim.out_of_pocket,
                source_event_id=source["source_event_id"],
            )
            .on_conflict_do_nothing()
            .returning(MedicalCost.claim_id)
        )
        if kept.first() is None:
            log.info("claim %s was counted already (published again)", claim.claim_id)
            return "ignored"
        total = (
            await session.execute(
                select(func.coalesce(func.sum(MedicalCost.out_of_pocket), 0)).where(
                    MedicalCost.household_id == household.id,
                    MedicalCost.policy_year == claim.policy_year,
                )
            )
        ).scalar_one()
        region, year = household.region_code, claim.policy_year
        floor = await policy.value(session, p.MEDICAL_COST_FLOOR, region_code=region, year=year)
        ratio = await policy.value(
            session, p.MEDICAL_COST_INCOME_RATIO, region_code=region, year=year
        )
        threshold = rules.medical_cost_threshold(
            floor, ratio, household.per_capita_net_income, len(members)
        )
        if not rules.medical_cost_exceeds(total, threshold):
            return None
        await self._raise(
            session,
            household,
            members,
            kind=AlertKind.high_medical_cost,
            person_id=claim.person_id,
            policy_year=year,
            source=source,
            details={
                "annual_out_of_pocket": str(total),
                "threshold": str(threshold),
                "floor": str(floor),
                "income_ratio": str(ratio),
                "per_capita_net_income": _str(household.per_capita_net_income),
                "persons": len(members),
                "claim_id": str(claim.claim_id),
            },
            evidence=evidence,
            note=None,
            actor=system_actor(region),
        )
        return None

    # --- raising ------------------------------------------------------------------------

    async def _raise(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        *,
        kind: AlertKind,
        person_id: uuid.UUID | None,
        policy_year: int,
        source: dict[str, Any] | None,
        details: dict[str, Any],
        evidence: list[dict[str, Any]],
        note: str | None,
        actor: Principal,
        rural_dialysis_patient: bool = False,
    ) -> RiskAlert | None:
        """Insert the alert unless its source event (or, for medical cost, the household's
        year) has one already; then move the household and publish ``alert.raised``.
        Returns None for a duplicate."""
        today = self.clock.today()
        due_days = await policy.value(
            session, p.ALERT_DUE_DAYS, region_code=household.region_code, year=today.year
        )
        inserted = (
            await session.execute(
                insert(RiskAlert)
                .values(
                    id=uuid.uuid4(),
                    household_id=household.id,
                    person_id=person_id,
                    region_code=household.region_code,
                    kind=kind.value,
                    status=AlertStatus.open.value,
                    policy_year=policy_year,
                    details=details,
                    evidence=evidence,
                    raised_on=today,
                    due_date=today + dt.timedelta(days=due_days),
                    raised_by=actor.subject,
                    note=note,
                    **(source or {}),
                )
                .on_conflict_do_nothing()  # the unique source event / medical-cost year
                .returning(RiskAlert.id)
            )
        ).first()
        if inserted is None:
            return None
        alert = await session.get(RiskAlert, inserted.id)
        effect = rules.household_effect(
            PovertyState(household.poverty_state),
            MonitoringCategory(household.monitoring_category),
            kind,
            rural_dialysis_patient=rural_dialysis_patient,
        )
        step_details = {"alert_id": str(alert.id), "kind": kind.value, **(source or {})}
        if effect.action is not None:
            try:
                await self.workflow.system_step(
                    session,
                    household,
                    members,
                    effect.action,
                    actor=actor,
                    details=step_details,
                    evidence=evidence,
                    reason=kind.value if effect.action is Action.auto_register else None,
                    year=policy_year,
                )
            except IllegalTransition as exc:  # the rules only pick legal steps; keep the alert
                log.error("alert %s: %s not taken: %s", alert.id, effect.action.value, exc)
        elif effect.category is not None:
            await self._set_category(session, household, members, effect.category, actor)
        category = household.monitoring_category
        alert.category = None if category == MonitoringCategory.none else category
        session.add(alert)
        await self.households.record(
            session,
            household,
            members,
            events.ALERT_RAISED,
            events.AlertRaised(**alert_fields(alert)),
            actor=actor,
            before=audit_view(household, members),
        )
        return alert

    async def _set_category(
        self,
        session: AsyncSession,
        household: Household,
        members: list[Member],
        category: MonitoringCategory,
        actor: Principal,
    ) -> None:
        before = audit_view(household, members)
        household.monitoring_category = category.value
        await self.households.record(
            session,
            household,
            members,
            events.HOUSEHOLD_UPDATED,
            events.HouseholdUpdated(
                **await self.households.snapshot(session, household, members),
                changed=["monitoring_category"],
            ),
            actor=actor,
            before=before,
        )

    # --- by hand ------------------------------------------------------------------------

    async def create(self, session: AsyncSession, body: AlertCreate, actor: Principal) -> RiskAlert:
        household, members = await self.households.get(
            session, body.household_id, actor, for_update=True
        )
        if body.person_id is not None and body.person_id not in {m.id for m in members}:
            raise errors.NOT_A_MEMBER(
                "person_id is not a member of this household", field="body.person_id"
            )
        alert = await self._raise(
            session,
            household,
            members,
            kind=body.kind,
            person_id=body.person_id,
            policy_year=self.clock.today().year,
            source=None,
            details={},
            evidence=[d.model_dump() for d in body.evidence],
            note=body.note,
            actor=actor,
        )
        if alert is None:
            await session.rollback()
            raise errors.ALERT_EXISTS(
                "this household already has a high-medical-cost alert this year (one per "
                "household and year); add to that one"
            )
        await session.refresh(alert)
        return alert

    async def transition(
        self, session: AsyncSession, alert_id: uuid.UUID, body: AlertTransition, actor: Principal
    ) -> RiskAlert:
        alert = await self.get(session, alert_id, actor)
        household, members = await self.households.get(
            session, alert.household_id, actor, for_update=True
        )
        await session.refresh(alert, with_for_update=True)
        current = AlertStatus(alert.status)
        target = rules.next_status(body.action, current, body.assessment)
        now, today = self.clock.now(), self.clock.today()
        if body.action == "assess":
            alert.assessment = body.assessment.value
            alert.assessed_by, alert.assessed_at, alert.assessment_note = (
                actor.subject,
                now,
                body.note,
            )
            if body.assessment != AlertAssessment.not_at_risk:
                category = MonitoringCategory(body.assessment.value)
                alert.category = category.value
                # a household counted as poor is helped as such; the category is for the rest
                state = PovertyState(household.poverty_state)
                if state not in COUNTED_AS_POOR and household.monitoring_category != category:
                    await self._set_category(session, household, members, category, actor)
        elif body.action == "assist":
            alert.assisted_by, alert.assisted_at, alert.assistance_note = (
                actor.subject,
                now,
                body.note,
            )
        if target == AlertStatus.closed:
            alert.closed_by, alert.closed_at, alert.closure_note = actor.subject, now, body.note
        alert.evidence = [*alert.evidence, *(d.model_dump() for d in body.evidence)]
        alert.status = target.value
        session.add(alert)
        await self.households.record(
            session,
            household,
            members,
            events.ALERT_STATUS_CHANGED,
            events.AlertStatusChanged(**alert_fields(alert), from_status=current, on_date=today),
            actor=actor,
            before=audit_view(household, members),
        )
        await session.refresh(alert)
        return alert

    # --- reads --------------------------------------------------------------------------

    async def get(self, session: AsyncSession, alert_id: uuid.UUID, actor: Principal) -> RiskAlert:
        alert = await session.get(RiskAlert, alert_id)
        ensure_visible(actor, alert and alert.region_code, what="alert")
        return alert

    async def search(
        self,
        session: AsyncSession,
        actor: Principal,
        *,
        page: PageParams,
        region: str | None = None,
        statuses: Sequence[AlertStatus] = (),
        kinds: Sequence[AlertKind] = (),
        overdue: bool | None = None,
        household_id: uuid.UUID | None = None,
    ) -> tuple[list[RiskAlert], int]:
        """Alerts in the caller's region (narrowed by the filters), oldest due first."""
        conditions = [RiskAlert.region_code.startswith(actor.region_prefix)]
        if region:
            conditions.append(RiskAlert.region_code.startswith(region_prefix(region)))
        if statuses:
            conditions.append(RiskAlert.status.in_([s.value for s in statuses]))
        if kinds:
            conditions.append(RiskAlert.kind.in_([k.value for k in kinds]))
        if household_id:
            conditions.append(RiskAlert.household_id == household_id)
        if overdue is not None:
            late = and_(
                RiskAlert.status != AlertStatus.closed.value,
                RiskAlert.due_date < self.clock.today(),
            )
            conditions.append(late if overdue else not_(late))
        total = (
            await session.execute(select(func.count()).select_from(RiskAlert).where(*conditions))
        ).scalar_one()
        rows = await session.execute(
            select(RiskAlert)
            .where(*conditions)
            .order_by(RiskAlert.due_date, RiskAlert.created_at, RiskAlert.id)
            .offset(page.offset)
            .limit(page.size)
        )
        return list(rows.scalars()), total


def alert_fields(alert: RiskAlert) -> dict[str, Any]:
    """Fields of an AlertEvent payload."""
    return dict(
        alert_id=alert.id,
        household_id=alert.household_id,
        person_id=alert.person_id,
        region_code=alert.region_code,
        kind=alert.kind,
        status=alert.status,
        category=alert.category,
        assessment=alert.assessment,
        raised_on=alert.raised_on,
        due_date=alert.due_date,
        source_service=alert.source_service,
        source_event_type=alert.source_event_type,
        source_event_id=alert.source_event_id,
    )


def _details(payload: Any) -> dict[str, Any]:
    """What an alert keeps of the fact: its record id, dates and flags; never a diagnosis
    (DOMAIN §1.7: diagnoses stay in health)."""
    keep = payload.model_dump(
        mode="json",
        exclude={"household_id", "person_id", "region_code", "disease_code", "disease_name"},
    )
    return keep


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
