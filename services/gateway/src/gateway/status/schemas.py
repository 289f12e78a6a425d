"""The household status document (DOMAIN §8.1)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from contracts.enums import AssistanceType, MonitoringCategory, PovertyCause, PovertyState
from contracts.status import DimensionState


class DimensionStatus(BaseModel):
    status: DimensionState
    label: str = Field(description="The dimension in words (两不愁三保障)")
    reason: str | None = Field(None, description="Reason code when not ok")
    reason_text: str | None = Field(None, description="The reason in words")
    source: str = Field(description="Service whose events decide this dimension")
    event_id: str | None = Field(None, description="Event that set this state")
    as_of: dt.datetime | None = Field(None, description="When the source last reported it")


class ExitReadiness(BaseModel):
    status: str = Field(description="`ready`, `not_ready` (blocking lists why) or `unknown`")
    blocking: list[str]
    unknown: list[str]


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
    as_of: dt.datetime = Field(description="Time of the latest registry event applied")
    source_event_id: str
