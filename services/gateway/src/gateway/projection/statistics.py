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
from gateway.models import (
    counters_table,
    education_records_table,
    health_records_table,
    household_table,
    regions_table,
)
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


def health_contribution(record: Mapping[str, Any] | None) -> Counts:
    """What a health enrolment or claim adds to its regions' KPI counters (per year)."""
    counts: Counts = Counter()
    if record is None or not record["counted"]:
        return counts
    year = record["year"]
    if record["kind"] == "enrolment":
        counts[f"health.{year}.insured"] += 1
        if record["subsidy_fen"]:
            counts[f"health.{year}.subsidised"] += 1
            counts[f"health.{year}.subsidy_fen"] += record["subsidy_fen"]
    else:
        counts[f"health.{year}.settlements"] += 1
        counts[f"health.{year}.compliant_fen"] += record["compliant_fen"]
        counts[f"health.{year}.compliant_personal_fen"] += record["compliant_personal_fen"]
    return counts


#: A household's compulsory-age members by where they are (education_assessed's counts).
EDUCATION_COUNTS = ("compulsory_age", "in_school", "dropped_out", "unmatched")


def education_contribution(record: Mapping[str, Any] | None) -> Counts:
    """What an education record adds to its regions' KPI counters: a household's
    compulsory-age members (now), or an aid grant (人次 and fen, per school year)."""
    counts: Counts = Counter()
    if record is None:
        return counts
    if record["kind"] == "household":
        for name in EDUCATION_COUNTS:
            counts[f"education.{name}"] += record[name]
    else:
        aid = f"education.{record['school_year']}.aid.{record['programme']}"
        counts[f"{aid}.grants"] += 1
        counts[f"{aid}.fen"] += record["amount_fen"]
    return counts


#: Each department's records table, with what one of its records counts.
KPI_RECORDS = {
    health_records_table: health_contribution,
    education_records_table: education_contribution,
}


async def move_between(
    session: AsyncSession,
    before: tuple[str, Counts] | None,
    after: tuple[str, Counts],
) -> None:
    """Move the counters from a row's contribution before a change to its contribution
    after it: by the difference in one region, or out of the old regions and into the new
    ones when the row moved (a region code corrected)."""
    region, counts = after
    if before is not None and before[0] != region:
        await move_counters(session, before[0], {k: -v for k, v in before[1].items()})
        await move_counters(session, region, counts)
    else:
        await move_counters(session, region, difference(before[1] if before else Counter(), counts))


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


PENDING = "pending_counter_deltas"


async def move_counters(session: AsyncSession, region_code: str, delta: Mapping[str, int]) -> None:
    """Add ``delta`` to the counters of the region and all its ancestors.

    Kept in the session until :func:`write_counters` at the end of the transaction, so a
    batch of events (a rebuild) moves each counter once, not once per event."""
    pending: Counter[tuple[str, str]] = session.info.setdefault(PENDING, Counter())
    for code in regions_of(region_code):
        for metric, value in delta.items():
            pending[(code, metric)] += value


#: One constant statement (compiled and prepared once), whatever the number of counters:
#: a multi-row VALUES built per call was compiled anew each time, most of an event's CPU.
#: The ORDER BY is a fixed lock order: two transactions never lock rows crosswise.
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


async def write_counters(session: AsyncSession) -> None:
    """Write the transaction's pending counter changes, one statement."""
    pending: Counter[tuple[str, str]] = session.info.pop(PENDING, Counter())
    moved = [(code, metric, value) for (code, metric), value in pending.items() if value]
    if not moved:
        return
    codes, metrics, values = (list(column) for column in zip(*moved, strict=True))
    await session.execute(_MOVE, {"codes": codes, "metrics": metrics, "values": values})


async def recount(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Every counter computed from scratch over the projection (for checks and tests)."""
    totals: dict[tuple[str, str], int] = Counter()
    households = await session.stream(select(household_table))
    async for row in households.mappings():
        _add(totals, row["region_code"], household_contribution(row).items())
    for region in (await session.execute(select(regions_table))).mappings():
        _add(totals, region["code"], region_contribution(region).items())
    for table, contribution in KPI_RECORDS.items():
        for record in (await session.execute(select(table))).mappings():
            _add(totals, record["region_code"], contribution(record).items())
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
