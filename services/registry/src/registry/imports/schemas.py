"""API schemas of imports."""

from __future__ import annotations

import uuid

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
