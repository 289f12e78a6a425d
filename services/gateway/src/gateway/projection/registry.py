"""Handlers of the registry's events: household basics and the registry's dimensions
(income, food and clothing, water), risk alerts, helpers and visits, regions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import AlertStatus
from contracts.events import CATALOGUE
from contracts.events import registry as registry_events
from gateway.models import helper_households_table, regions_table
from gateway.projection.household import changing, set_dimension
from gateway.projection.statistics import difference, move_counters, region_contribution
from kit.app import ConsumerDefinition
from kit.envelope import Envelope

#: Visits older than this before the newest one are dropped (the status shows recent ones).
VISITS_KEPT = dt.timedelta(days=366)


async def on_household_snapshot(session: AsyncSession, event: Envelope) -> None:
    await _apply_snapshot(
        session, event, registry_events.HouseholdSnapshot.model_validate(event.data)
    )


async def on_member_event(session: AsyncSession, event: Envelope) -> None:
    """A member change carries the household after it."""
    member_event = registry_events.MemberEvent.model_validate(event.data)
    await _apply_snapshot(session, event, member_event.household)


async def _apply_snapshot(
    session: AsyncSession, event: Envelope, snapshot: registry_events.HouseholdSnapshot
) -> None:
    async with changing(session, snapshot.household_id, snapshot.region_code) as row:
        apply_snapshot(row, event, snapshot)


def apply_snapshot(
    row: dict[str, Any], event: Envelope, snapshot: registry_events.HouseholdSnapshot
) -> None:
    """The household's row after the registry's snapshot of it (edited in place)."""
    row.update(
        region_code=snapshot.region_code,
        head_name=next((m.name for m in snapshot.members if m.relation == "head"), None),
        member_count=len(snapshot.members),
        poverty_state=snapshot.poverty_state.value,
        assistance_type=snapshot.assistance_type.value,
        monitoring_category=snapshot.monitoring_category.value,
        primary_cause=snapshot.primary_cause.value,
        causes=[c.value for c in snapshot.causes],
        policy_continuity_until=snapshot.policy_continuity_until,
        registry_event_id=event.id,
        registry_event_at=event.time,
    )
    for name, fact in snapshot.dimensions.items():
        set_dimension(row, name, fact, event)


async def on_alert(session: AsyncSession, event: Envelope) -> None:
    alert = registry_events.AlertEvent.model_validate(event.data)
    async with changing(session, alert.household_id, alert.region_code) as row:
        key = str(alert.alert_id)
        if alert.status == AlertStatus.closed:
            row["risk_alerts"].pop(key, None)
        else:
            row["risk_alerts"][key] = {
                "kind": alert.kind.value,
                "status": alert.status.value,
                "category": alert.category.value if alert.category else None,
                "raised_on": alert.raised_on.isoformat(),
                "due_date": alert.due_date.isoformat(),
                "source": alert.source_service or "registry",
            }


async def on_helper_assigned(session: AsyncSession, event: Envelope) -> None:
    assignment = registry_events.HelperAssignmentEvent.model_validate(event.data)
    async with changing(session, assignment.household_id, assignment.region_code) as row:
        row["helpers"][str(assignment.assignment_id)] = {
            "helper_id": str(assignment.helper_id),
            "name": assignment.helper_name,
            "rank": assignment.helper_rank.value,
            "unit": assignment.work_unit,
            "role": assignment.role.value,
            "start_date": assignment.start_date.isoformat(),
        }
    await session.execute(
        insert(helper_households_table)
        .values(
            assignment_id=assignment.assignment_id,
            helper_id=assignment.helper_id,
            household_id=assignment.household_id,
        )
        .on_conflict_do_nothing()
    )


async def on_helper_unassigned(session: AsyncSession, event: Envelope) -> None:
    assignment = registry_events.HelperAssignmentEvent.model_validate(event.data)
    async with changing(session, assignment.household_id, assignment.region_code) as row:
        row["helpers"].pop(str(assignment.assignment_id), None)
    await session.execute(
        delete(helper_households_table).where(
            helper_households_table.c.assignment_id == assignment.assignment_id
        )
    )


async def on_visit_logged(session: AsyncSession, event: Envelope) -> None:
    visit = registry_events.HelperVisitLogged.model_validate(event.data)
    async with changing(session, visit.household_id, visit.region_code) as row:
        dates = sorted([*row["visit_dates"], visit.visit_date.isoformat()])
        oldest_kept = (dt.date.fromisoformat(dates[-1]) - VISITS_KEPT).isoformat()
        row["visit_dates"] = [d for d in dates if d >= oldest_kept]


async def on_region_updated(session: AsyncSession, event: Envelope) -> None:
    region = registry_events.RegionUpdated.model_validate(event.data)
    values = region.model_dump(mode="json")
    before = (
        (await session.execute(select(regions_table).where(regions_table.c.code == region.code)))
        .mappings()
        .first()
    )
    statement = insert(regions_table).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=["code"], set_=values))
    delta = difference(region_contribution(before), region_contribution(values))
    await move_counters(session, region.code, delta)


REGISTRY = ConsumerDefinition(
    source_service="registry",
    catalogue=CATALOGUE,
    handlers={
        **{spec.name: on_household_snapshot for spec in registry_events.SNAPSHOT_EVENTS},
        **{spec.name: on_member_event for spec in registry_events.MEMBER_EVENTS},
        registry_events.ALERT_RAISED.name: on_alert,
        registry_events.ALERT_STATUS_CHANGED.name: on_alert,
        registry_events.HELPER_ASSIGNED.name: on_helper_assigned,
        registry_events.HELPER_UNASSIGNED.name: on_helper_unassigned,
        registry_events.HELPER_VISIT_LOGGED.name: on_visit_logged,
        registry_events.REGION_UPDATED.name: on_region_updated,
    },
    # These events carry one alert, assignment or visit, not the whole household: each is
    # ordered among the events of its own part (see kit.consumer.EventConsumer).
    ordered_by={
        registry_events.ALERT_RAISED.name: "alert_id",
        registry_events.ALERT_STATUS_CHANGED.name: "alert_id",
        registry_events.HELPER_ASSIGNED.name: "assignment_id",
        registry_events.HELPER_UNASSIGNED.name: "assignment_id",
        registry_events.HELPER_VISIT_LOGGED.name: "visit_id",
    },
)
