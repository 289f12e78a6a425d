"""``GET /regions/{code}/stats``: read from the counters the events keep up to date."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from contracts.dates import PolicyYear, school_year
from contracts.enums import AssistanceType, MonitoringCategory, PovertyCause, PovertyState
from contracts.money import CENT
from contracts.region import RegionCode, region_level
from contracts.status import Dimension
from gateway.auth import StatsRead
from gateway.models import counters_table, regions_table
from gateway.projection.statistics import EDUCATION_COUNTS
from gateway.stats.schemas import (
    DimensionCounts,
    HouseholdsPersons,
    IncidenceRate,
    OpenAlerts,
    RegionStats,
    Share,
)
from kit.app import ReadSessionDep
from kit.auth import ensure_visible
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/regions", tags=["statistics"], responses=PROBLEM_RESPONSES)
PLACES = Decimal("0.0001")


@router.get(
    "/{code}/stats",
    summary="Statistics of a region at any level (省 … 村): X户Y人, 贫困发生率, dimensions, alerts",
)
async def region_stats(
    code: RegionCode,
    actor: StatsRead,
    session: ReadSessionDep,
    clock: ClockDep,
    year: Annotated[
        PolicyYear | None,
        Query(
            description="Year of the department KPIs (default: this year); education's aid "
            "counts the school year (学年) that begins in it (default: the school year of "
            "today, which began last year until 1 September)"
        ),
    ] = None,
) -> RegionStats:
    ensure_visible(actor, code, what="region")
    rows = await session.execute(
        select(counters_table.c.metric, counters_table.c.value, counters_table.c.updated_at).where(
            counters_table.c.region_code == code
        )
    )
    counters: dict[str, int] = {}
    as_of: dt.datetime | None = None
    for metric, value, updated_at in rows:
        counters[metric] = value
        as_of = max(as_of, updated_at) if as_of else updated_at
    region = (
        (await session.execute(select(regions_table).where(regions_table.c.code == code)))
        .mappings()
        .first()
    )
    stats = build_stats(code, region["name"] if region else None, counters, as_of)
    today = clock.today()
    stats.kpis = health_kpis(counters, year or today.year) | education_kpis(
        counters, year or school_year(today)
    )
    return stats


def health_kpis(counters: dict[str, int], year: int) -> dict[str, Decimal]:
    """Health's KPIs of the year, once its events have arrived: 参保率 (insured persons of
    the registry's persons), 资助参保 (persons and 元), one-stop settlements and 自付比 (the
    patients' share of the compliant cost)."""
    prefix = f"health.{year}."
    if not any(metric.startswith(prefix) for metric in counters):
        return {}
    count = {
        name: counters.get(prefix + name, 0)
        for name in (
            "insured",
            "subsidised",
            "subsidy_fen",
            "settlements",
            "compliant_fen",
            "compliant_personal_fen",
        )
    }
    kpis = {
        "health.insured": Decimal(count["insured"]),
        "health.subsidised": Decimal(count["subsidised"]),
        "health.subsidy_total": (Decimal(count["subsidy_fen"]) / 100).quantize(CENT),
        "health.settlements": Decimal(count["settlements"]),
    }
    participation = ratio(count["insured"], counters.get("persons", 0))
    if participation is not None:
        kpis["health.participation_rate"] = participation
    share = ratio(count["compliant_personal_fen"], count["compliant_fen"])
    if share is not None:
        kpis["health.compliant_personal_share"] = share
    return kpis


def education_kpis(counters: dict[str, int], school_year: int) -> dict[str, Decimal]:
    """Education's KPIs, once its events have arrived: the compulsory-age members of the
    households it assessed, in school, 入学率 (in school ÷ compulsory age), dropped out and
    without a matched 学籍 (now); and aid by programme in the school year, 人次 and 元."""
    kpis: dict[str, Decimal] = {}
    if any(f"education.{name}" in counters for name in EDUCATION_COUNTS):
        for name in EDUCATION_COUNTS:
            kpis[f"education.{name}"] = Decimal(counters.get(f"education.{name}", 0))
        rate = ratio(
            counters.get("education.in_school", 0), counters.get("education.compulsory_age", 0)
        )
        if rate is not None:
            kpis["education.enrolment_rate"] = rate
    prefix = f"education.{school_year}.aid."
    for metric, value in sorted(counters.items()):
        if metric.startswith(prefix) and metric.endswith(".grants"):
            programme = metric.removeprefix(prefix).removesuffix(".grants")
            fen = counters.get(f"{prefix}{programme}.fen", 0)
            kpis[f"education.aid.{programme}.grants"] = Decimal(value)
            kpis[f"education.aid.{programme}.amount"] = (Decimal(fen) / 100).quantize(CENT)
    return kpis


def ratio(count: int, of: int) -> Decimal | None:
    """Exact ratio shown half-up (DOMAIN §1.4): 69/70 → 0.9857."""
    return (Decimal(count) / Decimal(of)).quantize(PLACES, ROUND_HALF_UP) if of else None


def build_stats(
    code: str, name: str | None, counters: dict[str, int], as_of: dt.datetime | None
) -> RegionStats:
    def pair(prefix: str) -> HouseholdsPersons:
        return HouseholdsPersons(
            households=counters.get(f"households{prefix}", 0),
            persons=counters.get(f"persons{prefix}", 0),
        )

    def by(axis: str, values) -> dict[str, HouseholdsPersons]:
        return {v.value: pair(f".{axis}.{v.value}") for v in values}

    registered = counters.get("households.registered", 0)
    poor = counters.get("households.poor", 0)

    def shares(prefix: str) -> dict[str, Share]:
        return {
            c.value: Share(
                count=counters.get(f"{prefix}.{c.value}", 0),
                of=registered,
                share=ratio(counters.get(f"{prefix}.{c.value}", 0), registered),
            )
            for c in PovertyCause
        }

    population = counters.get("population", 0)
    total_population = counters.get("population.total", 0)
    alerts_by_kind = {
        metric.removeprefix("alerts.open."): value
        for metric, value in counters.items()
        if metric.startswith("alerts.open.") and value
    }
    return RegionStats(
        region_code=code,
        region_name=name,
        level=region_level(code),
        all=pair(""),
        poor=pair(".poor"),
        registered=pair(".registered"),
        by_poverty_state=by("state", PovertyState),
        by_assistance_type=by("assistance", AssistanceType),
        by_monitoring_category=by("monitoring", MonitoringCategory),
        by_cause=shares("households.cause"),
        by_primary_cause=shares("households.primary_cause"),
        incidence=IncidenceRate(
            poor_persons=counters.get("persons.poor", 0),
            population=population,
            rate=ratio(counters.get("persons.poor", 0), population),
            total_population=total_population,
            rate_of_total_population=ratio(counters.get("persons.poor", 0), total_population),
        ),
        dimensions={
            d.value: DimensionCounts(
                ok=counters.get(f"households.dimension.{d.value}.ok", 0),
                not_ok=counters.get(f"households.dimension.{d.value}.not_ok", 0),
                unknown=counters.get(f"households.dimension.{d.value}.unknown", 0),
                ok_share=ratio(counters.get(f"households.dimension.{d.value}.ok", 0), registered),
            )
            for d in Dimension
        },
        exit_readiness={
            status: counters.get(f"households.exit_readiness.{status}", 0)
            for status in ("ready", "not_ready", "unknown")
        },
        helper_coverage=Share(
            count=counters.get("households.poor.with_helper", 0),
            of=poor,
            share=ratio(counters.get("households.poor.with_helper", 0), poor),
        ),
        open_alerts=OpenAlerts(
            total=counters.get("alerts.open", 0),
            households=counters.get("households.with_open_alerts", 0),
            by_kind=alerts_by_kind,
        ),
        kpis={},
        as_of=as_of,
    )
