"""The roster template (学籍花名册): one row a student, Chinese headers (the English field
names are accepted too), and how each cell is read.

学段 and 学籍状态 take the Chinese label (``初中``, ``送教上门``) or the code (``junior``) of
``contracts.enums``; 是否寄宿 takes 是 / 否; dates take 2026-09-01, 2026/09/01 or a date
cell. What a value must be beyond that (lengths, the grade's range, a date not in the
future, the evidence of an alternative mode) is the registration's rule, checked as a
registration checks it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.resident_id import validate_resident_id
from kit.spreadsheet import date_cell, enum_cell, yes_no

_stage, _STAGES = enum_cell(SchoolStage)
_status, _STATUSES = enum_cell(EnrolmentStatus)


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header in the spreadsheet
    field: str  # the registration's field it fills (also accepted as the header)
    required: bool
    allowed: str
    #: The cell as the registration takes it (None: the text as it is); ValueError: refused.
    read: Callable[[str], Any] | None = None

    @property
    def headers(self) -> tuple[str, str]:
        return self.header, self.field


NAME = "姓名"
ID_NUMBER = "身份证号"

#: Every column of the template, in template order.
COLUMNS: tuple[Column, ...] = (
    Column(NAME, "name", True, "1–50 characters, as in the registry"),
    Column(ID_NUMBER, "id_number", True, "18位公民身份号码 (GB 11643)", validate_resident_id),
    Column("学校", "school_name", True, "1–100 characters"),
    Column("学段", "stage", True, _STAGES, _stage),
    Column("年级", "grade", True, "1–12, within the stage"),
    Column("是否寄宿", "boarding", False, "是、否 (empty: 否)", yes_no),
    Column("学籍状态", "enrolment_status", False, f"{_STATUSES} (empty: 在校)", _status),
    Column("状态日期", "status_since", True, "YYYY-MM-DD, not in the future", date_cell),
    Column(
        "佐证资料",
        "evidence",
        False,
        "required with 送教上门、远程教育、特殊学校: where the evidence is kept",
    ),
    Column(
        "特困认定材料",
        "hardship_evidence",
        False,
        "特困生/孤儿 only: where the school's 认定材料 is kept (empty on an update: unchanged)",
    ),
    Column("责任教师", "responsible_teacher", True, "1–50 characters (一生一责任人)"),
)

BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
#: The columns a registration's field is read from (name and ID number are the match's).
STUDENT_FIELDS = tuple(c for c in COLUMNS if c.field not in ("name", "id_number"))

TEMPLATE_CSV = Path(__file__).with_name("template.csv")


def template_rows() -> list[list[str]]:
    """The shipped template: the headers, then its example rows."""
    with TEMPLATE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def template_markdown() -> str:
    """The column table (docs/domain/education.md shows it)."""
    lines = ["| 列名 | field | required | allowed values |", "|---|---|---|---|"]
    lines += [
        f"| {c.header} | `{c.field}` | {'yes' if c.required else 'no'} | {c.allowed} |"
        for c in COLUMNS
    ]
    return "\n".join(lines)
