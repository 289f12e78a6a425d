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
    failed: int = Field(description="Households not imported because a row has an error")
    errors: list[ImportRowError]


class ImportJobOut(BaseModel):
    """An import running in the background, or its outcome."""

    id: uuid.UUID = Field(description="Job id, also the import id of its audit entries")
    region_code: str
    file_name: str
    sha256: str
    status: Literal["running", "completed", "interrupted"] = Field(
        description="`interrupted`: the database or the service stopped mid-way; committed "
        "chunks stay (whole households only): run the same file again to complete it"
    )
    persons_total: int | None = Field(description="Person rows in the file, once read")
    persons_done: int = Field(description="Person rows done (imported, skipped or failed)")
    report: dict[str, Any] | None = Field(
        description="Once ended: the counts of ImportReport, `errors_total`, and the first "
        "error rows (REGISTRY_IMPORT_MAX_STORED_ERRORS)"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
