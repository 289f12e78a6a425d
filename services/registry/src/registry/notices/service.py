"""Reads of the public notice board: the open 公示 windows of one village, masked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import (
    LABELS,
    AssistanceType,
    PublicityPurpose,
    RegionLevel,
    Relation,
    WorkflowStage,
)
from contracts.resident_id import mask_name
from kit.problems import not_found
from registry import policy as p
from registry.models import Household, Member, Publicity, Region
from registry.notices.schemas import NoticeEntry, VillageNotice
from registry.policy import policy

HOW_TO_OBJECT = (
    "对公示对象有异议的，请在公示期内（截止日期见各户）以书面、电话或当面方式向村民委员会、"
    "乡镇人民政府反映，或拨打扶贫监督电话 {hotline}。"
)


async def village_notice(
    session: AsyncSession, village_code: str, stage: WorkflowStage | None, today: dt.date
) -> VillageNotice:
    village = await session.get(Region, village_code)
    if village is None or village.level != RegionLevel.village:
        raise not_found("village")
    township = await session.get(Region, village.parent_code) if village.parent_code else None
    head = (
        select(Member.name, Member.id_number_masked)
        .where(Member.household_id == Household.id, Member.relation == Relation.head)
        .limit(1)
        .lateral()
    )
    size = select(func.count()).where(Member.household_id == Household.id).scalar_subquery()
    conditions = [
        Publicity.region_code == village_code,
        Publicity.status == "open",
        Publicity.start_date <= today,
    ]
    if stage is not None:
        conditions.append(Publicity.stage == stage.value)
    rows = await session.execute(
        select(
            Publicity,
            Household.group_no,
            Household.assistance_type,
            head.c.name,
            head.c.id_number_masked,
            size,
        )
        .join(Household, Household.id == Publicity.household_id)
        .outerjoin(head, true())
        .where(*conditions)
        .order_by(Publicity.stage, Publicity.start_date, Household.group_no, Publicity.id)
    )
    hotline = await policy.value(
        session, p.OBJECTION_HOTLINE, region_code=village_code, year=today.year
    )
    return VillageNotice(
        village_code=village.code,
        village_name=village.name,
        township_name=township.name if township else None,
        as_of=today,
        objection_hotline=hotline,
        how_to_object=HOW_TO_OBJECT.format(hotline=hotline),
        entries=[
            NoticeEntry(
                publicity_id=publicity.id,
                purpose=publicity.purpose,
                purpose_label=LABELS[PublicityPurpose(publicity.purpose)],
                stage=publicity.stage,
                stage_label=LABELS[WorkflowStage(publicity.stage)],
                group_no=group_no,
                head_name=mask_name(head_name or ""),
                head_id_number=head_id,
                household_size=household_size,
                assistance_type=assistance,
                assistance_type_label=LABELS[AssistanceType(assistance)],
                start_date=publicity.start_date,
                end_date=publicity.end_date,
            )
            for publicity, group_no, assistance, head_name, head_id, household_size in rows
        ],
    )
