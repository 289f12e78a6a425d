"""Request and response bodies of workflow steps. Every step names its evidence."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.dates import PolicyDate
from contracts.enums import ObjectionStatus, PovertyState, PublicityPurpose, WorkflowStage, describe
from contracts.validation import FieldsError
from registry.enums import RemovalReason
from registry.evidence import Document, Evidence
from registry.households.schemas import PersonName, SurveyData, Year
from registry.workflow.machine import Action

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Month = Annotated[
    str,
    StringConstraints(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"),
    Field(description="生效月份 YYYY-MM", examples=["2026-07"]),
]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)

    on_date: PolicyDate | None = Field(None, description="Date of the step (default today)")
    evidence: Evidence
    note: Text | None = None


class _Adjustment(_Step):
    effective_month: Month | None = Field(None, description="Default: this month")
    reason_text: Text = Field(description="Why, in words")


class Apply(_Step):
    """贫困户申请: the household applies (贫困户申请书 as evidence)."""

    action: Literal[Action.apply]


class Survey(_Step):
    """入户调查: surveyors visit, record findings and shortlist or reject."""

    action: Literal[Action.survey]
    surveyors: list[PersonName] = Field(min_length=1, max_length=10, description="谁排查、谁签字")
    findings: Text
    outcome: Literal[PovertyState.shortlisted, PovertyState.rejected]
    rejection_reason: Text | None = Field(None, description="Required when rejected")
    survey: SurveyData | None = Field(None, description="The survey's figures (收入, 两不愁 …)")

    @model_validator(mode="after")
    def _reason(self) -> Survey:
        if self.outcome == PovertyState.rejected and not self.rejection_reason:
            raise FieldsError(
                "a rejected survey needs rejection_reason", "outcome", "rejection_reason"
            )
        return self


class _Meeting(_Step):
    attendees: int = Field(ge=0, le=10000, description="村民代表 present")
    votes_for: int = Field(ge=0, le=10000)
    votes_against: int = Field(ge=0, le=10000)

    @model_validator(mode="after")
    def _votes(self):
        if self.votes_for + self.votes_against > self.attendees:
            raise ValueError("more votes than attendees")
        return self

    @property
    def approved(self) -> bool:
        return self.votes_for * 2 > self.attendees  # a majority of those present


class Appraise(_Meeting):
    """民主评议 by the 村民代表会议 (quorum checked against the village's population)."""

    action: Literal[Action.appraise]


class _OpensWindow(_Step):
    start_date: PolicyDate | None = Field(None, description="First day of the 公示 (default today)")


class Publicise(_OpensWindow):
    """村公示 of the appraised household."""

    action: Literal[Action.publicise]


class _Review(_OpensWindow):
    reviewer: PersonName = Field(description="Who reviewed (审核人)")
    opinion: Text


class TownshipReview(_Review):
    """乡镇审核 after the village 公示, then the township's 公示."""

    action: Literal[Action.township_review]


class CountyReview(_Review):
    """县复审 after the township 公示, then the county's 公告."""

    action: Literal[Action.county_review]


class Register(_Step):
    """建档立卡 after the county 公告."""

    action: Literal[Action.register]
    identified_year: Year | None = Field(None, description="识别年度 (default this year)")


class NominateExit(_Step):
    """村民小组提名: put on the year's exit plan (拟脱贫)."""

    action: Literal[Action.nominate_exit]
    planned_exit_year: Year


class AppraiseExit(_Meeting, _OpensWindow):
    """村级评议 of a nominated exit, then its 公示."""

    action: Literal[Action.appraise_exit]


class CheckExit(_Step):
    """乡级初核 after the exit 公示."""

    action: Literal[Action.check_exit]
    checker: PersonName
    opinion: Text


class ApproveExit(_Step):
    """县级审定: the registry asks the gateway whether 一超两不愁三保障 holds and keeps its answer."""

    action: Literal[Action.approve_exit]
    decided_by: PersonName


class WithdrawExit(_Step):
    action: Literal[Action.withdraw_exit]
    reason_text: Text


class Backfill(_Adjustment):
    """补录: a household that should have been registered (漏评)."""

    action: Literal[Action.backfill]
    identified_year: Year | None = None


class Remove(_Adjustment):
    """清退: a household wrongly included, or one that no longer exists."""

    action: Literal[Action.remove]
    reason: RemovalReason = Field(description=describe(RemovalReason))


class ReturnToPoverty(_Adjustment):
    action: Literal[Action.return_to_poverty]


class Rollback(_Adjustment):
    """回退: an exit that did not hold (脱贫不实, 错退)."""

    action: Literal[Action.rollback]


class ReInclude(_Adjustment):
    """重新纳入: a removal that was wrong."""

    action: Literal[Action.re_include]


class StartMonitoring(_Step):
    action: Literal[Action.start_monitoring]
    reason_text: Text


class EndMonitoring(_Step):
    action: Literal[Action.end_monitoring]
    reason_text: Text


StepRequest = Annotated[
    Apply
    | Survey
    | Appraise
    | Publicise
    | TownshipReview
    | CountyReview
    | Register
    | NominateExit
    | AppraiseExit
    | CheckExit
    | ApproveExit
    | WithdrawExit
    | Backfill
    | Remove
    | ReturnToPoverty
    | Rollback
    | ReInclude
    | StartMonitoring
    | EndMonitoring,
    Field(discriminator="action"),
]


def month_start(month: str) -> dt.date:
    year, number = re.match(r"^(\d{4})-(\d{2})$", month).groups()
    return dt.date(int(year), int(number), 1)


class StepOut(BaseModel):
    id: int
    action: str
    from_state: PovertyState
    from_stage: WorkflowStage | None
    to_state: PovertyState
    to_stage: WorkflowStage | None
    actor: str
    roles: list[str]
    on_date: dt.date
    details: dict
    evidence: list[Document]
    at: dt.datetime


class PublicityOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    purpose: PublicityPurpose
    stage: WorkflowStage
    start_date: dt.date
    end_date: dt.date
    status: str


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    received_on: PolicyDate | None = Field(None, description="Default today; within the window")
    channel: Literal["in_person", "phone_12317", "letter", "online", "other"] = "in_person"
    filed_by: PersonName | None = Field(None, description="Omit for an anonymous objection")
    content: Text


class ObjectionResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal[ObjectionStatus.upheld, ObjectionStatus.dismissed]
    finding: Text = Field(description="核实情况")
    consequence: Literal["resurvey", "reject"] | None = Field(
        None,
        description="For an upheld objection to an inclusion: back to survey (`resurvey`) "
        "or `reject`. An upheld objection to an exit takes the household off the exit plan",
    )
    resolved_on: PolicyDate | None = None
    evidence: Evidence


class ObjectionOut(BaseModel):
    id: uuid.UUID
    publicity_id: uuid.UUID
    household_id: uuid.UUID
    received_on: dt.date
    channel: str
    filed_by: str | None
    content: str
    status: ObjectionStatus
    resolved_on: dt.date | None
    finding: str | None
    consequence: str | None
