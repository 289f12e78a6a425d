"""API schemas of imports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class ImportRowError(BaseModel):
    row: int = Field(description="Spreadsheet row number (the header is row 1)")
    column: str = Field(description="Chinese column header, e.g. 身份证号")
    reason: str


class ImportFailedHousehold(BaseModel):
    """A household of the file that was not imported, and why."""

    village: str = Field(description="Its 村代码 (or the 村代码 / 村名 as the file gives it)")
    household_no: str = Field(description="户编号")
    rows: list[int] = Field(description="Its spreadsheet rows (the first 100 of a larger one)")
    persons: int = Field(description="Its rows in the file")
    errors: int = Field(description="Its error rows (all listed in `errors`, up to the limit)")
    reason: str = Field(description="Its first error: row, column and reason")


class ImportReportOut(BaseModel):
    import_id: uuid.UUID = Field(description="Also the entity id of the import's audit entry")
    file_name: str
    sha256: str = Field(description="SHA-256 of the uploaded file")
    persons: int = Field(description="Person rows read")
    households: int = Field(description="Households in the file (by village + 户编号)")
    imported: int = Field(description="Households written now")
    persons_imported: int
    skipped: int = Field(
        description="Households already imported (same village + 户编号): left as they are"
    )
    skipped_changed: int = Field(
        description="Of the skipped, those whose register record differs from the file "
        "(reported in errors, never overwritten)"
    )
    failed: int = Field(
        description="Households not imported because a row has an error: as many as "
        "`failed_households` lists (up to the limit)"
    )
    errors_total: int = Field(description="Error rows in all; `errors` lists the first ones")
    errors: list[ImportRowError] = Field(
        description="The first error rows by row (REGISTRY_IMPORT_MAX_STORED_ERRORS)"
    )
    failed_households: list[ImportFailedHousehold] = Field(
        description="Each household not imported, with its rows and first error, by row "
        "(REGISTRY_IMPORT_MAX_STORED_ERRORS)"
    )


class ImportJobOut(BaseModel):
    """An import running in the background, or its outcome."""

    id: uuid.UUID = Field(description="Job id, also the import id of its audit entries")
    region_code: str
    file_name: str
    sha256: str
    status: Literal["running", "completed", "interrupted", "refused"] = Field(
        description="`interrupted`: the database or the service stopped mid-way; committed "
        "chunks stay (whole households only): run the same file again to complete it. "
        "`refused`: the file was not imported at all (e.g. too many rows); the report says why"
    )
    persons_total: int | None = Field(description="Person rows in the file, once read")
    persons_done: int = Field(description="Person rows done (imported, skipped or failed)")
    report: dict[str, Any] | None = Field(
        description="Once ended: the counts of ImportReport, `errors_total`, the first error "
        "rows and failed households (REGISTRY_IMPORT_MAX_STORED_ERRORS); once refused: "
        "`refused` (why) and `code`"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
