"""Request and response bodies of risk alerts (返贫致贫风险)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.enums import AlertAssessment, AlertKind, AlertStatus, MonitoringCategory, describe
from contracts.validation import FieldsError
from registry.evidence import Document, Evidence

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class AlertCreate(BaseModel):
    """A risk found by hand (走访发现, 群众反映 …), with its evidence."""

    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID
    person_id: uuid.UUID | None = Field(None, description="The member concerned, if one")
    kind: AlertKind = Field(AlertKind.manual, description=describe(AlertKind))
    note: Note = Field(description="What was found")
    evidence: Evidence


class AlertTransition(BaseModel):
    """One step of an alert: 研判 (`assess`, with the category), 帮扶 (`assist`), 解除
    (`close`). Only forward; an assessment of `not_at_risk` closes the alert."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["assess", "assist", "close"]
    note: Note
    assessment: AlertAssessment | None = Field(
        None, description="Required to assess: " + describe(AlertAssessment)
    )
    evidence: list[Document] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _assessment_only_to_assess(self) -> AlertTransition:
        if (self.action == "assess") != (self.assessment is not None):
            raise FieldsError(
                "assessment is required to assess, and only then", "action", "assessment"
            )
        return self


class AlertSource(BaseModel):
    service: str
    event_type: str
    event_id: str


class AlertOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    person_id: uuid.UUID | None
    region_code: str
    kind: AlertKind
    status: AlertStatus
    category: MonitoringCategory | None
    assessment: AlertAssessment | None
    policy_year: int
    source: AlertSource | None = Field(description="The department event that raised it")
    details: dict[str, Any]
    evidence: list[Document]
    raised_on: dt.date
    due_date: dt.date
    overdue: bool = Field(description="Not closed and past its due date")
    raised_by: str
    note: str | None
    assessed_by: str | None
    assessed_at: dt.datetime | None
    assessment_note: str | None
    assisted_by: str | None
    assisted_at: dt.datetime | None
    assistance_note: str | None
    closed_by: str | None
    closed_at: dt.datetime | None
    closure_note: str | None
