"""Registry tables (storage). API schemas live beside the endpoints, never here."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.audit import define_audit_table
from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table
from kit.policy import define_policy_table


class RegistryModel(SQLModel, registry=registry()):
    """Base of the registry's tables: its own metadata, so migrations see only these."""


metadata = RegistryModel.metadata


def _timestamp(**kwargs) -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now(), **kwargs)


def _strings(length: int = 32) -> Column:
    return Column(ARRAY(String(length)), nullable=False, server_default="{}")


def _json(nullable: bool = False) -> Column:
    return Column(JSONB, nullable=nullable)


def _flag() -> Any:
    """A boolean that is false unless set (server default, so old rows migrate)."""
    return Field(default=False, sa_column_kwargs={"server_default": text("false")})


class Region(RegistryModel, table=True):
    """行政区划: province → city → county → township → village."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(
        default=None, foreign_key="regions.code", index=True, max_length=12
    )
    #: 户籍人口 of a village: sets the appraisal quorum and the incidence denominator.
    population: int | None = None
    #: 总人口 (residents of any hukou): the other 贫困发生率 denominator ([004] uses it).
    total_population: int | None = None
    #: 重点贫困村: its incidence quota is the higher one.
    key_poor_village: bool = _flag()
    #: Aggregate version: the ``sequence`` of the last ``registry.region.updated``.
    version: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})


class Household(RegistryModel, table=True):
    """户: the unit of registration, assistance, 公示 and exit."""

    __tablename__ = "households"
    __table_args__ = (
        Index("ix_households_region_created", "region_code", "created_at", "id"),
        Index("ix_households_causes", "causes", postgresql_using="gin"),
        Index("ux_households_external_ref", "external_ref", unique=True),
        # region subtree filters (LIKE '622924100%') outside the C collation
        Index(
            "ix_households_region_pattern",
            "region_code",
            postgresql_ops={"region_code": "varchar_pattern_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    region_code: str = Field(foreign_key="regions.code", index=True, max_length=12)
    group_no: int | None = None
    poverty_state: str = Field(index=True, max_length=32)
    #: Step inside a multi-step state: which 公示 is running, how far an exit has come.
    stage: str | None = Field(default=None, max_length=32)
    assistance_type: str = Field(max_length=16)
    monitoring_category: str = Field(index=True, max_length=32)
    causes: list[str] = Field(sa_column=_strings())
    primary_cause: str = Field(max_length=32)
    identified_year: int | None = None
    planned_exit_year: int | None = None
    exit_year: int | None = None
    #: 脱贫不脱政策: policies continue until this date after exit.
    policy_continuity_until: dt.date | None = None
    #: Exited households stay monitored until this date.
    monitored_until: dt.date | None = None
    # --- the latest annual survey (入户调查) ----------------------------------------------
    survey_year: int | None = None
    #: 收入 by IncomeType, yuan a year for the whole household.
    income_items: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    per_capita_net_income: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    #: When the latest survey was recorded here: the ``as_of`` of the registry's dimensions.
    survey_recorded_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    food_clothing_secure: bool | None = None  # 不愁吃穿
    safe_drinking_water: bool | None = None  # 饮水安全
    has_electricity: bool | None = None  # 通生活用电
    has_radio_tv: bool | None = None  # 通广播电视
    assets: list[str] = Field(sa_column=_strings())
    land_area_mu: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2)))
    # --------------------------------------------------------------------------------------
    #: 并户: this household was merged into another and is kept for history.
    merged_into: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("households.id", name="fk_households_merged_into"), nullable=True
        ),
    )
    #: Key of the household in an imported spreadsheet (village code + 户编号).
    external_ref: str | None = Field(default=None, max_length=64)
    #: Aggregate version: the ``sequence`` of the last event about this household.
    version: int = Field(default=1)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


class Member(RegistryModel, table=True):
    """户成员: a person belongs to one household at a time."""

    __tablename__ = "members"
    __table_args__ = (
        Index("ix_members_name", "name", postgresql_ops={"name": "text_pattern_ops"}),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=50)
    #: HMAC of the ID number: unique, so one person is in one household only.
    id_number_hash: str | None = Field(default=None, max_length=64, unique=True)
    id_number_cipher: str | None = None
    id_number_masked: str | None = Field(default=None, max_length=18)
    #: No ID number yet (a newborn): the person is known by this record's id.
    id_pending: bool = _flag()
    gender: str = Field(max_length=8)
    birth_date: dt.date
    relation: str = Field(max_length=16)
    hukou: str = Field(default="rural", max_length=8, sa_column_kwargs={"server_default": "rural"})
    education: str | None = Field(default=None, max_length=16)
    labour_capacity: str = Field(max_length=8)
    disability_level: int | None = Field(default=None, sa_column=Column(SmallInteger))
    chronic_illness: bool = _flag()
    critical_illness: bool = _flag()
    migrant_worker: bool = _flag()
    groups: list[str] = Field(sa_column=_strings())
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


class WorkflowStep(RegistryModel, table=True):
    """One step of a household's workflow (识别, 退出, 动态调整) with its actor and evidence."""

    __tablename__ = "workflow_steps"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    from_stage: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    to_stage: str | None = Field(default=None, max_length=32)
    actor: str = Field(max_length=200)
    roles: list[str] = Field(sa_column=_strings(64))
    on_date: dt.date = Field(sa_column=Column(Date, nullable=False))
    details: dict[str, Any] = Field(sa_column=_json())
    evidence: list[dict[str, Any]] = Field(sa_column=_json())
    at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


class Publicity(RegistryModel, table=True):
    """公示: a window during which anyone may object to a household's inclusion or exit."""

    __tablename__ = "publicities"
    __table_args__ = (
        Index("ix_publicities_region_dates", "region_code", "end_date"),
        # at most one open window per household
        Index(
            "ux_publicities_open",
            "household_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    region_code: str = Field(max_length=12)
    purpose: str = Field(max_length=16)
    stage: str = Field(max_length=32)
    start_date: dt.date
    end_date: dt.date
    #: open → closed (window over, moved on) or withdrawn (an objection was upheld)
    status: str = Field(default="open", max_length=16)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


class Objection(RegistryModel, table=True):
    """异议 filed during a 公示; an open one blocks the next step."""

    __tablename__ = "objections"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    publicity_id: uuid.UUID = Field(foreign_key="publicities.id", index=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    received_on: dt.date
    channel: str = Field(max_length=32)
    filed_by: str | None = Field(default=None, max_length=100)
    content: str
    status: str = Field(default="open", max_length=16)
    recorded_by: str = Field(max_length=200)
    resolved_on: dt.date | None = None
    finding: str | None = None
    consequence: str | None = Field(default=None, max_length=16)
    resolved_by: str | None = Field(default=None, max_length=200)
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


class Adjustment(RegistryModel, table=True):
    """动态调整 record: kind, effective month and evidence; the basis of 错评/错退/漏评 counts."""

    __tablename__ = "adjustments"
    __table_args__ = (Index("ix_adjustments_region_month", "region_code", "effective_month"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    region_code: str = Field(max_length=12)
    kind: str = Field(max_length=32)
    #: First day of the month the change takes effect.
    effective_month: dt.date
    reason: str | None = Field(default=None, max_length=32)
    details: dict[str, Any] = Field(sa_column=_json())
    evidence: list[dict[str, Any]] = Field(sa_column=_json())
    actor: str = Field(max_length=200)
    at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


# --- 防返贫监测: risk alerts and what raises them ------------------------------------------


class RiskAlert(RegistryModel, table=True):
    """返贫致贫风险 alert: raised by another department's event or by hand, then 研判 →
    帮扶 → 解除 (only forward), each step with who, when and a note."""

    __tablename__ = "risk_alerts"
    __table_args__ = (
        Index("ix_risk_alerts_region_status_due", "region_code", "status", "due_date"),
        # a redelivered (or replayed) department event cannot raise a second alert
        Index(
            "ux_risk_alerts_source_event",
            "source_event_id",
            unique=True,
            postgresql_where=text("source_event_id IS NOT NULL"),
        ),
        # high medical cost is judged on the year's total: one alert per household and year
        Index(
            "ux_risk_alerts_medical_cost_year",
            "household_id",
            "policy_year",
            unique=True,
            postgresql_where=text("kind = 'high_medical_cost'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    #: The member concerned; None for a household-level trigger (house, disaster).
    person_id: uuid.UUID | None = None
    region_code: str = Field(max_length=12)
    kind: str = Field(max_length=32)
    status: str = Field(default="open", max_length=16)
    #: Monitoring category the household got when the alert was raised or assessed.
    category: str | None = Field(default=None, max_length=32)
    assessment: str | None = Field(default=None, max_length=32)
    policy_year: int
    source_service: str | None = Field(default=None, max_length=32)
    source_event_type: str | None = Field(default=None, max_length=255)
    source_event_id: str | None = Field(default=None, max_length=64)
    #: What the trigger saw (amounts, thresholds, grade …); never a diagnosis.
    details: dict[str, Any] = Field(sa_column=_json())
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    raised_on: dt.date
    due_date: dt.date
    raised_by: str = Field(max_length=200)
    note: str | None = None
    assessed_by: str | None = Field(default=None, max_length=200)
    assessed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    assessment_note: str | None = None
    assisted_by: str | None = Field(default=None, max_length=200)
    assisted_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    assistance_note: str | None = None
    closed_by: str | None = Field(default=None, max_length=200)
    closed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    closure_note: str | None = None
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


# --- helpers (帮扶责任人) and visit logs (帮扶记录), DOMAIN §2.8 ---------------------------------


class Helper(RegistryModel, table=True):
    """帮扶责任人: a cadre of a 帮扶单位; the rank sets how many households they may help."""

    __tablename__ = "helpers"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=50)
    rank: str = Field(max_length=16)
    work_unit: str = Field(max_length=100)
    #: Personal data: shown with ``pii:read`` only, never published.
    phone: str | None = Field(default=None, max_length=20)
    #: The area the helper works in: households they help lie inside it.
    region_code: str = Field(foreign_key="regions.code", index=True, max_length=12)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


class MedicalCost(RegistryModel, table=True):
    """A settled claim's out-of-pocket share (health.claim.settled), summed per household
    and policy year for the high-medical-cost trigger. One row per claim."""

    __tablename__ = "medical_costs"
    __table_args__ = (Index("ix_medical_costs_household_year", "household_id", "policy_year"),)

    claim_id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id")
    person_id: uuid.UUID
    policy_year: int
    settled_on: dt.date
    out_of_pocket: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    source_event_id: str = Field(max_length=64)
    at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


class HelperAssignment(RegistryModel, table=True):
    """A helper in a household's 帮扶小组 from ``start_date``; ``end_date`` once it ended."""

    __tablename__ = "helper_assignments"
    __table_args__ = (
        # one active primary helper per household, even under concurrent requests
        Index(
            "ux_helper_assignments_primary",
            "household_id",
            unique=True,
            postgresql_where=text("role = 'primary' AND end_date IS NULL"),
        ),
        # a helper sits in a household's team once at a time
        Index(
            "ux_helper_assignments_active",
            "household_id",
            "helper_id",
            unique=True,
            postgresql_where=text("end_date IS NULL"),
        ),
        Index("ix_helper_assignments_helper", "helper_id", "end_date"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    helper_id: uuid.UUID = Field(foreign_key="helpers.id")
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    role: str = Field(max_length=16)
    start_date: dt.date
    end_date: dt.date | None = None
    end_reason: str | None = Field(default=None, max_length=500)
    assigned_by: str = Field(max_length=200)
    ended_by: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


class HelperVisit(RegistryModel, table=True):
    """帮扶记录: one visit (or call) of a helper to a household."""

    __tablename__ = "helper_visits"
    __table_args__ = (
        Index("ix_helper_visits_household_date", "household_id", "visit_date"),
        Index("ix_helper_visits_helper_date", "helper_id", "visit_date"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    helper_id: uuid.UUID = Field(foreign_key="helpers.id")
    household_id: uuid.UUID = Field(foreign_key="households.id")
    visit_date: dt.date
    kind: str = Field(max_length=16)
    note: str | None = None
    recorded_by: str = Field(max_length=200)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())


# --- bulk import (批量导入) ------------------------------------------------------------------


class ImportJob(RegistryModel, table=True):
    """A spreadsheet import running in the background: progress, then its report."""

    __tablename__ = "import_jobs"

    id: uuid.UUID = Field(primary_key=True)
    region_code: str = Field(max_length=12, index=True)
    actor: str = Field(max_length=200)
    file_name: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    #: running → completed | interrupted
    status: str = Field(default="running", max_length=16)
    persons_total: int | None = None
    persons_done: int = Field(default=0)
    #: The import's report (counts and error rows) once it has ended.
    report: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


inbox_table, positions_table = define_inbox_tables(metadata)
outbox_table = define_outbox_table(metadata)
audit_table = define_audit_table(metadata)
#: A caller's refused registrations of the last day (households.service.REFUSALS_PER_DAY).
Index(
    "ix_audit_log_registration_refused",
    audit_table.c.actor,
    audit_table.c.at,
    postgresql_where=text("action = 'person.registration_refused'"),
)
policy_table = define_policy_table(metadata)
