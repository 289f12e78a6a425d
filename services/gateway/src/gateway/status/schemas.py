"""The household status document (DOMAIN §8.1)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from contracts.enums import (
    AlertKind,
    AlertStatus,
    AssistanceType,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    describe,
)
from contracts.status import DimensionState


class DimensionStatus(BaseModel):
    status: DimensionState
    label: str = Field(description="The dimension in words (两不愁三保障)")
    reason: str | None = Field(None, description="Reason code when not ok")
    reason_text: str | None = Field(None, description="The reason in words")
    detail: str | None = Field(None, description="What is missing (counts, never names)")
    source: str = Field(description="Service whose facts decide this dimension")
    event_id: str | None = Field(None, description="Event that set this state (null when fresh)")
    as_of: dt.datetime | None = Field(None, description="When the source's data was last true")


class ExitReadiness(BaseModel):
    status: str = Field(
        description="`ready` (every dimension ok, no open risk alert), `not_ready` (blocking "
        "lists the failing dimensions, and `risk_alerts` while one is open) or `unknown`"
    )
    blocking: list[str]
    unknown: list[str]


class RiskAlert(BaseModel):
    alert_id: uuid.UUID
    kind: AlertKind = Field(description=describe(AlertKind))
    status: AlertStatus = Field(description=describe(AlertStatus))
    category: MonitoringCategory | None
    raised_on: dt.date
    due_date: dt.date
    source: str = Field(description="Service whose event raised it (registry for a manual one)")


class HelperOut(BaseModel):
    helper_id: uuid.UUID
    name: str
    rank: str
    unit: str
    role: str
    start_date: dt.date


class HelperSummary(BaseModel):
    assigned: bool = Field(description="At least one current helper (帮扶责任人)")
    helpers: list[HelperOut]
    visits_last_30_days: int = Field(description="Visits (走访) in the 30 days up to today")
    last_visit: dt.date | None


class SourceReport(BaseModel):
    """How one owning service answered a fresh request."""

    status: str = Field(description="`answered`, `timeout`, `error` or `not_found`")
    detail: str | None = None
    elapsed_ms: float | None = None


class HouseholdStatusOut(BaseModel):
    household_id: uuid.UUID
    region_code: str
    head_name: str | None
    member_count: int
    poverty_state: PovertyState
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    primary_cause: PovertyCause
    causes: list[PovertyCause]
    dimensions: dict[str, DimensionStatus]
    exit_readiness: ExitReadiness
    risk_alerts: list[RiskAlert] = Field(description="Open risk alerts (返贫致贫风险)")
    helper: HelperSummary
    policy_continuity_until: dt.date | None = Field(
        description="脱贫不脱政策: policies continue until this date after exit"
    )
    as_of: dt.datetime = Field(
        description="How fresh the document is: the latest registry event applied, or the "
        "moment of a fresh answer"
    )
    source_event_id: str | None = Field(description="The latest registry event applied")
    fresh: bool = Field(False, description="Asked of the owning services just now")
    sources: dict[str, SourceReport] | None = Field(
        None, description="Fresh mode: how each owning service answered"
    )
