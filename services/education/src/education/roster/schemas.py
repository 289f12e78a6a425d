"""Roster import (学籍花名册) API schemas."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RowErrorOut(BaseModel):
    row: int = Field(description="Spreadsheet row (the header is row 1)")
    column: str = Field(description="The column's Chinese header")
    field: str = Field(description="The registration's field it fills")
    reason: str


class UnmatchedOut(BaseModel):
    """A row no registry person of your region matches (逐步销号: to be cleared one by one)."""

    row: int
    name: str
    id_number: str = Field(description="Full with pii:read, otherwise masked (6229*************X)")


class RosterReportOut(BaseModel):
    rows: int = Field(description="Rows read (blank rows are skipped)")
    registered: int = Field(description="Students registered (new 学籍)")
    updated: int = Field(description="Students whose record the row changed")
    unchanged: int = Field(description="Students who already held what the row says")
    errors: int = Field(description="Rows not imported for an error (listed in row_errors)")
    unmatched: int = Field(description="Rows whose ID number matched no person of your region")
    row_errors: list[RowErrorOut]
    unmatched_rows: list[UnmatchedOut]
