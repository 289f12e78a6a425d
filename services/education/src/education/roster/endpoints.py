"""Roster endpoints (学籍花名册): upload a school's roster, download its template."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from education.auth import EducationRead, EducationWrite
from education.roster.columns import COLUMNS, TEMPLATE_CSV
from education.roster.schemas import RosterReportOut
from education.roster.service import RosterImport
from education.students.service import StudentService
from kit import spreadsheet
from kit.app import SessionDep
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/rosters", tags=["rosters"], responses=PROBLEM_RESPONSES)

_COLUMN_TABLE = "\n".join(
    f"- **{c.header}** (`{c.field}`, required: {'yes' if c.required else 'no'}): {c.allowed}"
    for c in COLUMNS
)


@router.post(
    "",
    summary="Import a school's roster (学籍花名册, CSV or XLSX): register or update its students",
    description="One row a student. Each row's 身份证号 is matched to a registry person of "
    "your region through the registry (`POST /persons/matches` with your token: the keyed "
    "hash, never a plain index); a matched person is registered as a student, or their "
    "record updated with the cells that differ (a new 学籍状态 takes its 状态日期), each "
    "through the students' write path with its event and audit entry. A row with an error "
    "(a cell, a rule of the registration, a 身份证号 given on an earlier row) is not "
    "imported and never stops the others; rows whose number matches nobody of your region "
    "are listed as unmatched (逐步销号), the number masked without `pii:read`. The same "
    "file twice registers nothing the second time (unchanged). At most "
    "`EDUCATION_ROSTER_MAX_ROWS` rows (5,000; more: 413 IMPORT_TOO_MANY_ROWS, nothing "
    "imported) and `EDUCATION_ROSTER_MAX_BYTES` (4 MiB). A registry that does not answer: "
    "503 REGISTRY_UNAVAILABLE, nothing imported.\n\nColumns (the Chinese header or the "
    "field name; the Chinese label or the code of each value):\n" + _COLUMN_TABLE,
)
async def import_roster(
    request: Request,
    actor: EducationWrite,
    session: SessionDep,
    clock: ClockDep,
    file: Annotated[UploadFile, File(description="The roster (.csv UTF-8/GB18030, .xlsx)")],
) -> RosterReportOut:
    settings = request.app.state.runtime.settings
    sheet = spreadsheet.open_sheet(
        await file.read(),
        file.filename or "",
        columns=[c.headers for c in COLUMNS],
        required=[c.headers for c in COLUMNS if c.required],
        template="GET /rosters/template.csv",
        max_unpacked_bytes=settings.roster_max_unpacked_bytes,
        unpacked_setting="EDUCATION_ROSTER_MAX_UNPACKED_BYTES",
    )
    roster = RosterImport(
        StudentService(clock), request.app.state.registry, settings.roster_max_rows
    )
    report = await roster.run(session, sheet, actor, request.headers["Authorization"])
    return RosterReportOut(
        **dataclasses.asdict(report), errors=report.errors, unmatched=report.unmatched
    )


@router.get(
    "/template.csv",
    summary="The roster template (学籍花名册模板) as CSV (UTF-8 with BOM, opens in Excel)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def roster_template(actor: EducationRead) -> Response:
    return Response(
        TEMPLATE_CSV.read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster-template.csv"'},
    )
