"""Reading the import file: :mod:`kit.spreadsheet` with the template's columns (each row
comes as the tuple of its cells in the order of ``COLUMNS``), and the template itself."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

from kit import spreadsheet
from registry.imports.columns import (
    COLUMNS,
    REQUIRED_HEADERS,
    VILLAGE_CODE,
    VILLAGE_NAME,
)

#: Each column by its header; a file needs 村代码 or 村名, and the required columns.
_COLUMNS = tuple((c.header,) for c in COLUMNS)
_REQUIRED = ((VILLAGE_CODE, VILLAGE_NAME), *((h,) for h in REQUIRED_HEADERS))


def open_sheet(
    content: bytes, filename: str = "", max_unpacked_bytes: int | None = None
) -> spreadsheet.Sheet:
    """The import file (see :func:`kit.spreadsheet.open_sheet`), its rows in ``COLUMNS``
    order; an XLSX unpacking to more than ``max_unpacked_bytes`` (None: any size, as the
    CLI reads a county's large file) is refused."""
    return spreadsheet.open_sheet(
        content,
        filename,
        columns=_COLUMNS,
        required=_REQUIRED,
        template="GET /imports/template.xlsx",
        max_unpacked_bytes=max_unpacked_bytes,
        unpacked_setting="REGISTRY_IMPORT_MAX_UNPACKED_BYTES",
    )


# --- the template ---------------------------------------------------------------------------

TEMPLATE_CSV = Path(__file__).with_name("template.csv")


def template_rows() -> list[list[str]]:
    """The template: headers, then the example rows of the shipped template.csv."""
    with TEMPLATE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def template_xlsx() -> bytes:
    """The template as XLSX: a 导入数据 sheet (headers and examples) and a 填写说明 sheet."""
    book = Workbook()
    data = book.active
    data.title = "导入数据"
    for row in template_rows():
        data.append(row)
    for cell in data[1]:
        cell.number_format = "@"
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "字段", "必填", "可填写的值"])
    for column in COLUMNS:
        notes.append([column.header, column.field, column.required, column.allowed])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_markdown() -> str:
    """The column table (for the README and the OpenAPI description)."""
    lines = ["| 列名 | field | required | allowed values |", "|---|---|---|---|"]
    lines += [f"| {c.header} | `{c.field}` | {c.required} | {c.allowed} |" for c in COLUMNS]
    return "\n".join(lines)
