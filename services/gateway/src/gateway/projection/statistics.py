"""Region statistics, maintained incrementally (DOMAIN §8.2).

Each household row *contributes* counts (a household, its persons, its causes, its
dimensions …) to its village and every region above it. A change moves the counters by
``contribution(after) - contribution(before)``, in the transaction of the event that
caused it, so a statistic is never recounted per request, and :func:`recount` (the same
contributions summed from scratch) must always give the same numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import COUNTED_AS_POOR, REGISTERED_STATES, RegionLevel
from contracts.region import parent_codes
from gateway.models import counters_table, household_table, regions_table
from gateway.status.dimensions import exit_readiness

Counts = Counter[str]


def household_contribution(row: Mapping[str, Any] | None) -> Counts:
    """What one household row adds to its regions' counters."""
    counts: Counts = Counter()
    if row is None or row.get("registry_event_id") is None:
        return counts  # basics not arrived yet: neither shown nor counted
    persons = row["member_count"]
    state = row["poverty_state"]
    counts["households"] += 1
    counts["persons"] += persons
    for axis, value in (
        ("state", state),
        ("assistance", row["assistance_type"]),
        ("monitoring", row["monitoring_category"]),
    ):
        counts[f"households.{axis}.{value}"] += 1
        counts[f"persons.{axis}.{value}"] += persons
    if state in COUNTED_AS_POOR:
        counts["households.poor"] += 1
        counts["persons.poor"] += persons
        if row["helpers"]:
            counts["households.poor.with_helper"] += 1
    if state in REGISTERED_STATES:
        counts["households.registered"] += 1
        counts["persons.registered"] += persons
        for cause in row["causes"]:
            counts[f"households.cause.{cause}"] += 1
        counts[f"households.primary_cause.{row['primary_cause']}"] += 1
        for name, dimension in row["dimensions"].items():
            counts[f"households.dimension.{name}.{dimension['status']}"] += 1
        readiness, _, _ = exit_readiness(row["dimensions"], row["risk_alerts"])
        counts[f"households.exit_readiness.{readiness}"] += 1
    for alert in row["risk_alerts"].values():
        counts["alerts.open"] += 1
        counts[f"alerts.open.{alert['kind']}"] += 1
    if row["risk_alerts"]:
        counts["households.with_open_alerts"] += 1
    return counts


def region_contribution(region: Mapping[str, Any] | None) -> Counts:
    """Populations are counted from villages up (the unit households are registered in)."""
    counts: Counts = Counter()
    if region is None or region["level"] != RegionLevel.village:
        return counts
    counts["population"] += region["population"] or 0
    counts["population.total"] += region["total_population"] or 0
    return counts


def difference(before: Counts, after: Counts) -> dict[str, int]:
    return {
        key: after[key] - before[key]
        for key in before.keys() | after.keys()
        if after[key] != before[key]
    }


def regions_of(village_code: str) -> list[str]:
    """The village and every region above it."""
    return [village_code, *parent_codes(village_code)]


#: One constant statement (compiled and prepared once), whatever the number of counters:
#: a multi-row VALUES built per call was compiled anew each time, most of an event's CPU.
_MOVE = text(
    """
    INSERT INTO region_counters (region_code, metric, value)
    SELECT code, metric, value
    FROM unnest(CAST(:codes AS varchar[]), CAST(:metrics AS varchar[]), CAST(:values AS bigint[]))
        AS moved (code, metric, value)
    ORDER BY code, metric
    ON CONFLICT (region_code, metric)
        DO UPDATE SET value = region_counters.value + excluded.value, updated_at = now()
    """
)


async def move_counters(session: AsyncSession, region_code: str, delta: Mapping[str, int]) -> None:
    """Add ``delta`` to the counters of the region and all its ancestors, one statement."""
    if not delta:
        return
    # A fixed order (the ORDER BY): two transactions never lock the same rows crosswise.
    rows = [
        (code, metric, value) for code in regions_of(region_code) for metric, value in delta.items()
    ]
    codes, metrics, values = (list(column) for column in zip(*rows, strict=True))
    await session.execute(_MOVE, {"codes": codes, "metrics": metrics, "values": values})


async def recount(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Every counter computed from scratch over the projection (for checks and tests)."""
    totals: dict[tuple[str, str], int] = Counter()
    households = await session.stream(select(household_table))
    async for row in households.mappings():
        _add(totals, row["region_code"], household_contribution(row).items())
    for region in (await session.execute(select(regions_table))).mappings():
        _add(totals, region["code"], region_contribution(region).items())
    return {key: value for key, value in totals.items() if value}


def _add(totals: dict, region_code: str, counts: Iterable[tuple[str, int]]) -> None:
    for metric, value in counts:
        for code in regions_of(region_code):
            totals[(code, metric)] += value


async def stored_counters(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(counters_table.c.region_code, counters_table.c.metric, counters_table.c.value)
    )
    return {(code, metric): value for code, metric, value in rows if value}
