"""The import template (导入模板): one row per person, Chinese headers, and how each cell is read.

Rows are grouped into households by (village, 户编号). Household columns (贫困状态, 致贫原因 …)
are read from the 户主's row; the other members' rows may leave them empty, and if they
fill them they must say the same. Enumerated cells take the Chinese label (``有劳动能力``)
or the code (``able``) of ``contracts.enums``; multi-valued cells separate values with
、 ; ， or ,.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from contracts.enums import (
    AssistanceType,
    Gender,
    HukouType,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    Relation,
)
from contracts.resident_id import validate_resident_id
from kit.spreadsheet import date_cell, enum_cell, yes_no
from registry.enums import EducationLevel, PersonGroup

_SEPARATORS = re.compile(r"[、;；,，]")


def _multi(enum_cls: type[StrEnum]) -> tuple[Callable[[str], list[StrEnum]], str]:
    one, allowed = enum_cell(enum_cls)

    def read(cell: str) -> list[StrEnum]:
        values = [one(part.strip()) for part in _SEPARATORS.split(cell) if part.strip()]
        if len(set(values)) != len(values):
            raise ValueError("a value is given twice")
        return values

    return read, allowed + " (several, separated by 、 or ;)"


def _int(low: int, high: int) -> Callable[[str], int]:
    def read(cell: str) -> int:
        try:
            value = int(Decimal(cell))
            if value != Decimal(cell):
                raise ValueError
        except (InvalidOperation, ValueError):
            raise ValueError(f"「{cell}」 is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is not between {low} and {high}")
        return value

    return read


def _money(cell: str) -> Decimal:
    try:
        value = Decimal(cell.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"「{cell}」 is not an amount in 元") from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:
        raise ValueError(f"「{cell}」 is not an amount in 元 (≥ 0, at most 2 decimals)")
    return value


def _text(max_length: int) -> Callable[[str], str]:
    def read(cell: str) -> str:
        if len(cell) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return cell

    return read


def _id_number(cell: str) -> str:
    return validate_resident_id(cell)


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header in the spreadsheet
    field: str  # the API field it fills
    household: bool  # a household column (read from the 户主's row) or a person column
    required: str  # "yes", "no", or when it is required
    read: Callable[[str], Any]
    allowed: str
    example: str = ""

    @property
    def is_required(self) -> bool:
        return self.required == "yes"


def _enum_column(header, field, enum_cls, *, household, required, example, multi=False):
    read, allowed = (_multi if multi else enum_cell)(enum_cls)
    if field == "primary_cause":
        allowed = "one of the 致贫原因 given: " + allowed
    return Column(header, field, household, required, read, allowed, example)


VILLAGE_CODE = "村代码"
VILLAGE_NAME = "村名"
HOUSEHOLD_NO = "户编号"
RELATION = "与户主关系"
ID_NUMBER = "身份证号"

#: Every column of the template, in template order.
COLUMNS: tuple[Column, ...] = (
    Column(
        VILLAGE_CODE,
        "region_code",
        True,
        "one of 村代码 and 村名",
        _text(12),
        "12位统计用区划代码 of a village in your region",
        "622924100201",
    ),
    Column(
        VILLAGE_NAME,
        "village_name",
        True,
        "one of 村代码 and 村名",
        _text(100),
        "village name as in the region list (must be unambiguous in your region)",
        "西关村",
    ),
    Column(HOUSEHOLD_NO, "household_no", True, "yes", _text(40), "the county's 户编号", "0001"),
    Column("村民小组", "group_no", True, "no", _int(1, 999), "1–999", "2"),
    _enum_column(RELATION, "relation", Relation, household=False, required="yes", example="户主"),
    Column("姓名", "name", False, "yes", _text(50), "1–50 characters", "马建国"),
    Column(
        ID_NUMBER,
        "id_number",
        False,
        "yes, unless the person has none yet (a newborn)",
        _id_number,
        "18位公民身份号码 (GB 11643), unique in the county",
        "",
    ),
    _enum_column(
        "性别", "gender", Gender, household=False, required="only without 身份证号", example=""
    ),
    Column(
        "出生日期",
        "birth_date",
        False,
        "only without 身份证号",
        date_cell,
        "YYYY-MM-DD (or a date cell)",
        "",
    ),
    _enum_column(
        "户籍性质", "hukou", HukouType, household=False, required="no (农业户口)", example=""
    ),
    _enum_column(
        "文化程度", "education", EducationLevel, household=False, required="no", example="初中"
    ),
    _enum_column(
        "劳动能力",
        "labour_capacity",
        LabourCapacity,
        household=False,
        required="no (有劳动能力)",
        example="有劳动能力",
    ),
    Column("残疾等级", "disability_level", False, "no", _int(1, 4), "1–4 (残疾证)", ""),
    Column("患慢性病", "chronic_illness", False, "no (否)", yes_no, "是、否", ""),
    Column("患大病", "critical_illness", False, "no (否)", yes_no, "是、否", ""),
    Column("外出务工", "migrant_worker", False, "no (否)", yes_no, "是、否", ""),
    _enum_column(
        "特殊群体", "groups", PersonGroup, household=False, required="no", example="", multi=True
    ),
    _enum_column(
        "贫困状态",
        "poverty_state",
        PovertyState,
        household=True,
        required="yes",
        example="建档立卡",
    ),
    _enum_column(
        "帮扶类型",
        "assistance_type",
        AssistanceType,
        household=True,
        required="no (一般户)",
        example="一般户",
    ),
    _enum_column(
        "监测类别",
        "monitoring_category",
        MonitoringCategory,
        household=True,
        required="no (无)",
        example="无",
    ),
    _enum_column(
        "致贫原因",
        "causes",
        PovertyCause,
        household=True,
        required="yes",
        example="因病、缺资金",
        multi=True,
    ),
    _enum_column(
        "主要致贫原因",
        "primary_cause",
        PovertyCause,
        household=True,
        required="yes",
        example="因病",
    ),
    Column("识别年度", "identified_year", True, "no", _int(1978, 2100), "e.g. 2016", "2016"),
    Column(
        "调查年度", "survey_year", True, "with 人均纯收入", _int(1978, 2100), "e.g. 2025", "2025"
    ),
    Column("人均纯收入", "per_capita_net_income", True, "no", _money, "元/人/年, ≥ 0", "2800.50"),
)

BY_HEADER: dict[str, Column] = {c.header: c for c in COLUMNS}
BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
REQUIRED_HEADERS = tuple(c.header for c in COLUMNS if c.is_required)
