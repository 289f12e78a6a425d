"""Region statistics (DOMAIN §8.2): counts "X户Y人", rates and shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from contracts.enums import RegionLevel


class HouseholdsPersons(BaseModel):
    households: int
    persons: int


class Share(BaseModel):
    count: int
    of: int = Field(description="The count it is a share of")
    share: Decimal | None = Field(description="count ÷ of, half-up to 4 places (null if of is 0)")


class DimensionCounts(BaseModel):
    ok: int
    not_ok: int
    unknown: int
    ok_share: Decimal | None = Field(description="Share of registered households with it ok")


class IncidenceRate(BaseModel):
    """贫困发生率: poor persons ÷ the population of the region's villages."""

    poor_persons: int
    population: int = Field(description="户籍人口 of the region's villages")
    rate: Decimal | None
    total_population: int = Field(description="总人口 of the region's villages")
    rate_of_total_population: Decimal | None


class OpenAlerts(BaseModel):
    total: int
    households: int
    by_kind: dict[str, int]


class RegionStats(BaseModel):
    region_code: str
    region_name: str | None
    level: RegionLevel
    all: HouseholdsPersons = Field(description="Every household the registry holds here")
    poor: HouseholdsPersons = Field(
        description="Counted as poor (未脱贫): registered, 拟脱贫, 返贫"
    )
    registered: HouseholdsPersons = Field(description="建档立卡, exited households included")
    by_poverty_state: dict[str, HouseholdsPersons]
    by_assistance_type: dict[str, HouseholdsPersons]
    by_monitoring_category: dict[str, HouseholdsPersons]
    by_cause: dict[str, Share] = Field(description="致贫原因 tags of registered households")
    by_primary_cause: dict[str, Share]
    incidence: IncidenceRate
    dimensions: dict[str, DimensionCounts] = Field(
        description="Registered households by the state of each dimension"
    )
    exit_readiness: dict[str, int] = Field(description="Registered households by readiness")
    helper_coverage: Share = Field(description="Poor households with a current helper")
    open_alerts: OpenAlerts
    kpis: dict[str, Decimal] = Field(
        description="Department KPIs of the year asked, each once its service's events have "
        "arrived. Health: `health.insured`, `health.subsidised`, `health.subsidy_total` (元), "
        "`health.settlements`, `health.participation_rate` (参保率), "
        "`health.compliant_personal_share` (自付比). Education, now: "
        "`education.compulsory_age` (members of compulsory-education age), "
        "`education.in_school` (enrolled or in an evidenced alternative mode), "
        "`education.enrolment_rate` (入学率: in_school ÷ compulsory_age), "
        "`education.dropped_out` (辍学), `education.unmatched` (no matched 学籍); and in the "
        "school year that begins in the year asked, per programme (资助项目): "
        "`education.aid.<programme>.grants` (人次) and `education.aid.<programme>.amount` (元)"
    )
    as_of: dt.datetime | None = Field(description="Last change of any of these counters")
