"""A school's roster (学籍花名册) imported: each row read, matched to a registry person by
ID number, and registered or updated as a student (学籍比对).

Three steps. Every row is read and checked first (the cells, the registration's rules on
them, an ID number given twice); the valid rows' ID numbers are then matched through the
registry (:mod:`education.roster.matching`) before anything is written; each matched row is
then written in its own savepoint through :class:`StudentService` (the one write path:
events and audit), so a row that fails leaves nothing behind and never stops the others.
A row whose student already holds what it says is unchanged: the same file twice
registers nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.resident_id import mask
from education.models import Person, Student
from education.roster.columns import BY_FIELD, COLUMNS
from education.roster.matching import Match, RegistryClient
from education.students.schemas import StudentCreate, StudentFields, StudentUpdate
from education.students.service import StudentService
from kit import problems
from kit.auth import Principal
from kit.problems import Problem
from kit.spreadsheet import REFUSED, Row, Sheet, refusal

_COLUMN_ORDER = {c.header: i for i, c in enumerate(COLUMNS)}


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str  # Chinese header
    field: str  # the registration's field
    reason: str


@dataclass(frozen=True)
class Unmatched:
    """A row whose ID number no registry person of the caller's region has (逐步销号)."""

    row: int
    name: str
    id_number: str  # masked without pii:read


@dataclass
class RosterReport:
    rows: int = 0
    registered: int = 0
    updated: int = 0
    unchanged: int = 0
    row_errors: list[RowError] = field(default_factory=list)
    unmatched_rows: list[Unmatched] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Rows not imported for an error (a row with several errors counts once)."""
        return len({e.row for e in self.row_errors})

    @property
    def unmatched(self) -> int:
        return len(self.unmatched_rows)


@dataclass(frozen=True)
class _Checked:
    """A row whose cells hold a registration, waiting for its match."""

    row: int
    name: str
    id_number: str
    fields: StudentFields
    filled: frozenset[str]  # the fields its cells give (an update changes only those)


class RosterImport:
    def __init__(self, students: StudentService, registry: RegistryClient, max_rows: int) -> None:
        self.students = students
        self.registry = registry
        self.max_rows = max_rows

    async def run(
        self, session: AsyncSession, sheet: Sheet, actor: Principal, authorization: str
    ) -> RosterReport:
        report = RosterReport()
        checked = list(self._check(_limited(sheet.rows(), self.max_rows), report))
        matches = await self.registry.match([c.id_number for c in checked], authorization)
        for row, match in zip(checked, matches, strict=True):
            if match is None:
                shown = row.id_number if actor.has("pii:read") else mask(row.id_number)
                report.unmatched_rows.append(Unmatched(row.row, row.name, shown))
            else:
                await self._write(session, row, match, actor, report)
        report.row_errors.sort(key=lambda e: (e.row, _COLUMN_ORDER.get(e.column, 0)))
        return report

    def _check(self, rows: Iterator[Row], report: RosterReport) -> Iterator[_Checked]:
        """The rows whose cells hold a registration; the others' errors in the report."""
        first_row_of: dict[str, int] = {}
        for number, cells in rows:
            report.rows += 1
            values, reasons = _read(cells)
            try:
                fields = StudentFields.model_validate(
                    {k: v for k, v in values.items() if k in StudentFields.model_fields}
                )
            except ValidationError as exc:
                for error in exc.errors():
                    name = str(error["loc"][0]) if error["loc"] else ""
                    reasons.setdefault(name, error["msg"].removeprefix("Value error, "))
            id_number = values.get("id_number")
            if id_number is not None:
                first = first_row_of.setdefault(id_number, number)
                if first != number:
                    reasons.setdefault("id_number", f"the same 身份证号 as row {first}")
            if reasons:
                report.row_errors += [_error(number, name, why) for name, why in reasons.items()]
                continue
            filled = frozenset(name for name in values if name in StudentFields.model_fields)
            yield _Checked(number, values["name"], id_number, fields, filled)

    async def _write(
        self,
        session: AsyncSession,
        row: _Checked,
        match: Match,
        actor: Principal,
        report: RosterReport,
    ) -> None:
        """Register the row's student, or update it with what differs; nothing of the row
        is kept when it fails (its savepoint), and the failure is the row's error."""
        if await session.get(Person, match.member_id) is None:
            report.row_errors.append(
                _error(
                    row.row,
                    "id_number",
                    "the registry's person is not yet known to education; retry shortly",
                )
            )
            return
        student = await session.scalar(select(Student).where(Student.person_id == match.member_id))
        try:
            async with session.begin_nested():
                if student is None:
                    body = StudentCreate(person_id=match.member_id, **row.fields.model_dump())
                    await self.students.register(session, body, actor)
                    report.registered += 1
                    return
                changed = _differences(student, row)
                if not changed:
                    report.unchanged += 1
                    return
                await self.students.update(session, student.id, StudentUpdate(**changed), actor)
                report.updated += 1
        except Problem as exc:
            name = (exc.field or "").removeprefix("body.")
            report.row_errors.append(_error(row.row, name, exc.detail or exc.title))
        except IntegrityError:  # registered by another request meanwhile
            report.row_errors.append(
                _error(row.row, "id_number", "registered meanwhile by another request: run again")
            )


def _limited(rows: Iterator[Row], limit: int) -> Iterator[Row]:
    for count, row in enumerate(rows, start=1):
        if count > limit:
            raise problems.IMPORT_TOO_MANY_ROWS(
                f"the roster has more than {limit:,} rows; the limit is {limit:,} "
                "(EDUCATION_ROSTER_MAX_ROWS): split it, by grade for instance"
            )
        yield row


def _read(cells: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """The row's values by field, and the reason of each refused cell (by field)."""
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for column, cell in zip(COLUMNS, cells, strict=True):
        if cell.startswith(REFUSED):
            reasons[column.field] = refusal(cell)
        elif not cell:
            if column.required:
                reasons[column.field] = "required"
        elif column.read is None:
            values[column.field] = cell
        else:
            try:
                values[column.field] = column.read(cell)
            except ValueError as exc:
                reasons[column.field] = str(exc)
    return values, reasons


def _differences(student: Student, row: _Checked) -> dict[str, Any]:
    """What the row changes in the student: the fields its cells fill that differ; the
    status's date only with a new status (a roster repeats the date of a status it does not
    change)."""
    given = row.fields.model_dump(include=set(row.filled), mode="json")
    changed = {
        name: value for name, value in given.items() if _stored(getattr(student, name)) != value
    }
    changed.pop("status_since", None)
    if "enrolment_status" in changed:
        changed["status_since"] = given["status_since"]
    return changed


def _stored(value: Any) -> Any:
    """A student's column as the row's JSON form has it (a date as YYYY-MM-DD)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _error(row: int, name: str, reason: str) -> RowError:
    column = BY_FIELD.get(name)
    if column is None:  # a rule about the whole registration: named by the person's column
        column = BY_FIELD["id_number"]
    return RowError(row, column.header, column.field, reason)
