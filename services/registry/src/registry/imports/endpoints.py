"""Import endpoints: upload a spreadsheet, download the template."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from contracts.enums import RegionLevel
from contracts.region import RegionCode, region_level
from kit.app import ReadSessionDep
from kit.auth import ensure_in_region, ensure_visible
from kit.errors import PROBLEM_RESPONSES
from registry import errors
from registry.auth import RegistryRead, RegistryWrite
from registry.imports.columns import COLUMNS
from registry.imports.jobs import ImportSlot
from registry.imports.reader import TEMPLATE_CSV, open_sheet, template_xlsx
from registry.imports.schemas import ImportJobOut, ImportReportOut
from registry.imports.service import ImportInterrupted, ImportService
from registry.models import ImportJob

router = APIRouter(tags=["imports"], responses=PROBLEM_RESPONSES)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_COUNTY_OR_ABOVE = {RegionLevel.province, RegionLevel.city, RegionLevel.county}

_COLUMN_TABLE = "\n".join(
    f"- **{c.header}** (`{c.field}`, required: {c.required}): {c.allowed}" for c in COLUMNS
)


@router.post(
    "/imports",
    responses={202: {"model": ImportJobOut, "description": "Running in the background"}},
    summary="Import a county's spreadsheet of households (批量导入, CSV or XLSX)",
    description="One row per person; rows are grouped into households by (village, 户编号). "
    "Every row is validated; a household with any bad row is not imported (none of its rows), "
    "the others are. A household already imported (same village + 户编号) is skipped, so "
    "re-running a file imports nothing twice; if the register differs from the file, that "
    "is reported, never overwritten. Each imported household gets its "
    "`registry.household.created` event and audit entry in the same transaction. "
    "A file up to `REGISTRY_IMPORT_SYNC_MAX_BYTES` (8 MiB) is imported while the request waits "
    "(200 with the report); a larger one, or any with `background=true`, runs in the "
    "background: 202 with the job, whose progress and report `GET /imports/{id}` shows. "
    "Uploads are limited to `REGISTRY_IMPORT_MAX_BYTES` (64 MiB) and "
    "`REGISTRY_IMPORT_MAX_ROWS` rows (300,000; more: 413 IMPORT_TOO_MANY_ROWS, nothing "
    "imported); an XLSX may unpack to `REGISTRY_IMPORT_MAX_UNPACKED_BYTES` (200 MiB) with "
    "no part inflated over 100:1 (else 413 IMPORT_UNPACKS_TOO_LARGE); larger files go through the CLI `python -m registry.imports`. A county runs "
    "`REGISTRY_IMPORT_MAX_CONCURRENT` imports at a time (1; another: 429 IMPORT_BUSY with "
    "Retry-After). The report lists the first `REGISTRY_IMPORT_MAX_STORED_ERRORS` error rows "
    "(`errors_total` counts them all) and every household not imported with its rows and "
    "reason. Needs a county-level (or higher) account.\n\nColumns (the Chinese label or the code of each value is accepted):\n"
    + _COLUMN_TABLE,
)
async def import_households(
    request: Request,
    actor: RegistryWrite,
    file: Annotated[UploadFile, File(description="The spreadsheet (.csv UTF-8/GB18030, .xlsx)")],
    region: Annotated[
        RegionCode | None,
        Query(description="Only villages of this region (default: the caller's region)"),
    ] = None,
    background: Annotated[
        bool, Query(description="Run in the background (202) whatever the file's size")
    ] = False,
) -> ImportReportOut:
    if region_level(actor.region) not in _COUNTY_OR_ABOVE:
        raise errors.IMPORT_NEEDS_COUNTY("imports are done by a county (or higher) account")
    if region is not None:
        ensure_in_region(actor, region, field="query.region")
    runtime = request.app.state.runtime
    settings = runtime.settings
    service = ImportService(
        request.app.state.vault,
        request.app.state.clock,
        chunk_households=settings.import_chunk_households,
        max_rows=settings.import_max_rows,
        max_errors=settings.import_max_stored_errors,
        max_unpacked_bytes=settings.import_max_unpacked_bytes,
    )
    content = await file.read()
    # A file without the columns: 422 at once; an XLSX unpacking too large: 413.
    open_sheet(content, file.filename or "", service.max_unpacked_bytes)
    slot = await ImportSlot.take(
        runtime.engine, region or actor.region, settings.import_max_concurrent
    )
    if background or len(content) > settings.import_sync_max_bytes:
        try:
            job = await request.app.state.import_jobs.start(
                runtime.sessionmaker,
                service,
                content,
                file.filename or "upload",
                hashlib.sha256(content).hexdigest(),
                actor,
                region or actor.region,
                slot,
            )
        except BaseException:
            await slot.release()
            raise
        return JSONResponse(
            ImportJobOut.model_validate(job, from_attributes=True).model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"/imports/{job.id}"},
        )
    try:
        report = await service.run(
            runtime.sessionmaker, content, file.filename or "upload", actor, region=region
        )
    except ImportInterrupted as exc:
        done = exc.report
        raise errors.IMPORT_INTERRUPTED(
            f"the database failed after {done.imported} households were imported "
            f"({exc}); nothing of the failed chunk was written: run the same file again to "
            "complete the import"
        ) from None
    finally:
        await slot.release()
    return ImportReportOut.model_validate(
        {k: v for k, v in dataclasses.asdict(report).items() if k in ImportReportOut.model_fields}
    )


@router.get(
    "/imports/template.xlsx",
    summary="The import template (导入模板) as XLSX, with a sheet of instructions",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def template_as_xlsx(actor: RegistryRead) -> Response:
    return Response(
        template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="import-template.xlsx"'},
    )


@router.get(
    "/imports/template.csv",
    summary="The import template (导入模板) as CSV (UTF-8 with BOM, opens in Excel)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def template_as_csv(actor: RegistryRead) -> Response:
    return Response(
        TEMPLATE_CSV.read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="import-template.csv"'},
    )


# After the template routes: their paths would match {import_id}.
@router.get("/imports/{import_id}", summary="A background import: progress, then its report")
async def get_import(
    import_id: uuid.UUID, actor: RegistryWrite, session: ReadSessionDep
) -> ImportJobOut:
    job = await session.get(ImportJob, import_id)
    ensure_visible(actor, job and job.region_code, what="import")
    return ImportJobOut.model_validate(job, from_attributes=True)
