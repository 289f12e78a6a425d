"""The registry's outbox and the event payloads built from its tables."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.registry import MemberSnapshot
from contracts.status import DimensionFact
from kit.changes import Changes
from kit.clock import Clock
from kit.outbox import Outbox
from kit.policy import Overrides
from registry.audit import audit
from registry.households.dimensions import registry_dimensions
from registry.models import Household, Member, outbox_table
from registry.policy import POVERTY_LINE, policy

outbox = Outbox(outbox_table, service="registry")
#: The one write path of the registry's aggregates (its history names actions without
#: the ``registry.`` prefix).
changes = Changes(outbox, audit, short_actions=True)


def member_snapshot(member: Member) -> MemberSnapshot:
    return MemberSnapshot(
        member_id=member.id,
        name=member.name,
        has_id_number=not member.id_pending,
        gender=member.gender,
        birth_date=member.birth_date,
        relation=member.relation,
        labour_capacity=member.labour_capacity,
        hukou=member.hukou,
        disability_level=member.disability_level,
        chronic_illness=member.chronic_illness,
        critical_illness=member.critical_illness,
        migrant_worker=member.migrant_worker,
    )


def household_fields(
    household: Household, members: list[Member], *, dimensions: dict[str, DimensionFact]
) -> dict:
    """Fields of a HouseholdSnapshot. Events get them from :func:`snapshot_fields`, which
    decides the dimensions."""
    return dict(
        household_id=household.id,
        region_code=household.region_code,
        group_no=household.group_no,
        poverty_state=household.poverty_state,
        stage=household.stage,
        assistance_type=household.assistance_type,
        monitoring_category=household.monitoring_category,
        causes=household.causes,
        primary_cause=household.primary_cause,
        identified_year=household.identified_year,
        planned_exit_year=household.planned_exit_year,
        exit_year=household.exit_year,
        policy_continuity_until=household.policy_continuity_until,
        monitored_until=household.monitored_until,
        survey_year=household.survey_year,
        per_capita_net_income=household.per_capita_net_income,
        food_clothing_secure=household.food_clothing_secure,
        safe_drinking_water=household.safe_drinking_water,
        has_electricity=household.has_electricity,
        has_radio_tv=household.has_radio_tv,
        merged_into=household.merged_into,
        members=[member_snapshot(m) for m in members],
        dimensions=dimensions,
    )


async def snapshot_fields(
    session: AsyncSession, household: Household, members: list[Member], clock: Clock
) -> dict:
    """Fields of a HouseholdSnapshot with the registry's dimensions: what every registry
    event about a household carries."""
    lines = await poverty_lines(session)
    return household_fields(
        household, members, dimensions=dimensions_of(household, lines, clock.today().year)
    )


async def poverty_lines(session: AsyncSession) -> Overrides:
    """The poverty line of every region and year, loaded once per session (a request, a
    consumer's event): a change touching several households asks once."""
    lines = session.info.get(_LINES)
    if lines is None:
        lines = session.info[_LINES] = await policy.overrides(session, POVERTY_LINE)
    return lines


_LINES = "registry.poverty_lines"


def dimensions_of(household: Household, lines: Overrides, policy_year: int) -> dict:
    """The registry's dimensions of the household (keyed by name, as events carry them)."""
    year = household.survey_year
    facts = registry_dimensions(
        survey_year=year,
        per_capita_net_income=household.per_capita_net_income,
        food_clothing_secure=household.food_clothing_secure,
        safe_drinking_water=household.safe_drinking_water,
        # the line of the village in the survey's year: the income is that year's
        poverty_line=None if year is None else lines.value(household.region_code, year),
        policy_year=policy_year,
        as_of=household.survey_recorded_at,
    )
    return {dimension.value: fact for dimension, fact in facts.items()}
