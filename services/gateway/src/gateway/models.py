"""Gateway tables: read models only, rebuilt from events (it owns no domain data).

``household_status`` holds one self-contained row per household (one primary-key read
answers a status request); ``region_counters`` holds the statistics of every region level,
moved by the difference each household change makes (never recounted per request).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Column, DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table


class GatewayModel(SQLModel, registry=registry()):
    """Base of the gateway's tables: its own metadata, so migrations see only these."""


metadata = GatewayModel.metadata


def _jsonb(default: str) -> Any:
    return Field(
        sa_column=Column(JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))
    )


class HouseholdStatus(GatewayModel, table=True):
    """One row per household: registry basics, each dimension, risk alerts and helpers.

    A row may exist before the registry's basics arrive (an alert delivered before the
    household's snapshot); ``registry_event_id`` is null until then and the household is
    neither shown nor counted.
    """

    __tablename__ = "household_status"
    __table_args__ = (
        Index(
            "ix_household_status_region_pattern",
            "region_code",
            "household_id",
            postgresql_ops={"region_code": "varchar_pattern_ops"},
        ),
    )

    household_id: uuid.UUID = Field(primary_key=True)
    region_code: str = Field(max_length=12)
    head_name: str | None = Field(default=None, max_length=50)
    member_count: int = 0
    poverty_state: str | None = Field(default=None, max_length=32)
    assistance_type: str | None = Field(default=None, max_length=16)
    monitoring_category: str | None = Field(default=None, max_length=32)
    primary_cause: str | None = Field(default=None, max_length=32)
    causes: list[str] = Field(
        sa_column=Column(ARRAY(String(32)), nullable=False, server_default="{}")
    )
    policy_continuity_until: dt.date | None = None
    #: {dimension: {status, reason, source, event_id, as_of}}
    dimensions: dict[str, Any] = _jsonb("{}")
    #: Open risk alerts (返贫致贫风险) by alert id: {kind, status, category, raised_on, due_date, source}
    risk_alerts: dict[str, Any] = _jsonb("{}")
    #: Current helpers (帮扶责任人) by assignment id: {helper_id, name, rank, unit, role, start_date}
    helpers: dict[str, Any] = _jsonb("{}")
    #: Dates of visits in the year before the latest one, oldest first.
    visit_dates: list[str] = _jsonb("[]")
    #: Event that last changed the registry basics (null until they arrive).
    registry_event_id: str | None = Field(default=None, max_length=64)
    registry_event_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: dt.datetime | None = Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
        ),
    )


class HelperHousehold(GatewayModel, table=True):
    """Which households a helper (帮扶责任人) currently serves: the helper's phone list."""

    __tablename__ = "helper_households"

    assignment_id: uuid.UUID = Field(primary_key=True)
    helper_id: uuid.UUID = Field(index=True)
    household_id: uuid.UUID


class RegionInfo(GatewayModel, table=True):
    """A region's name and populations, from ``registry.region.updated``."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(default=None, max_length=12)
    population: int | None = None
    total_population: int | None = None
    key_poor_village: bool = False


class RegionCounter(GatewayModel, table=True):
    """One statistic of one region (every level, village to province)."""

    __tablename__ = "region_counters"

    region_code: str = Field(primary_key=True, max_length=12)
    metric: str = Field(primary_key=True, max_length=96)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: dt.datetime | None = Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
        ),
    )


class HealthRecord(GatewayModel, table=True):
    """A health enrolment or claim as it counts in the region KPIs (参保率, 资助参保, 自付比):
    the last state its events gave it. Amounts in fen (the counters are integers)."""

    __tablename__ = "health_records"

    record_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=16)  # enrolment | claim
    region_code: str = Field(max_length=12)
    year: int
    #: An active enrolment, or a settlement in force (not reversed).
    counted: bool
    subsidy_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    compliant_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    compliant_personal_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class EducationRecord(GatewayModel, table=True):
    """What counts of education in the region KPIs, as its last event gave it: a household's
    compulsory-age members by where they are (education_assessed; the record's id is the
    household's), or an aid grant paid (aid.paid; the grant's id). Amounts in fen."""

    __tablename__ = "education_records"

    record_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=16)  # household | aid
    region_code: str = Field(max_length=12)
    compulsory_age: int = 0
    in_school: int = 0
    dropped_out: int = 0
    unmatched: int = 0
    #: 学年 (named by the year it begins) and 资助项目 of a grant.
    school_year: int | None = None
    programme: str | None = Field(default=None, max_length=32)
    amount_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


inbox_table, positions_table = define_inbox_tables(metadata)
#: The public feed's events, staged in the consumers' transactions (gateway.public_feed).
outbox_table = define_outbox_table(metadata)
household_table = HouseholdStatus.__table__
helper_households_table = HelperHousehold.__table__
regions_table = RegionInfo.__table__
counters_table = RegionCounter.__table__
health_records_table = HealthRecord.__table__
education_records_table = EducationRecord.__table__
