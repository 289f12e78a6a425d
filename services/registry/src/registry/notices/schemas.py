"""The public 公示 notice board: only what DOMAIN §1.7 allows a public entry to hold."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from contracts.enums import AssistanceType, PublicityPurpose, WorkflowStage


class NoticeEntry(BaseModel):
    """One household on the board: masked name and ID number, size, action and dates.
    Never income, assets, causes, health or any other survey answer."""

    publicity_id: uuid.UUID
    purpose: PublicityPurpose = Field(description="inclusion 纳入 | exit 脱贫")
    purpose_label: str
    stage: WorkflowStage
    stage_label: str
    group_no: int | None = Field(description="村民小组")
    head_name: str = Field(description="户主姓名, masked: 张*明", examples=["张*明"])
    head_id_number: str | None = Field(
        description="户主身份证号, masked", examples=["6229*************X"]
    )
    household_size: int = Field(description="家庭人口")
    assistance_type: AssistanceType
    assistance_type_label: str
    start_date: dt.date
    end_date: dt.date = Field(description="Last day objections are received")


class VillageNotice(BaseModel):
    village_code: str
    village_name: str
    township_name: str | None
    as_of: dt.date
    objection_hotline: str = Field(description="扶贫监督电话")
    how_to_object: str
    entries: list[NoticeEntry]
