"""Reading an uploaded spreadsheet (CSV or XLSX) into numbered rows of header → cell text."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from kit.errors import Problem
from registry.imports.columns import (
    BY_HEADER,
    COLUMNS,
    REQUIRED_HEADERS,
    VILLAGE_CODE,
    VILLAGE_NAME,
)

XLSX_MAGIC = b"PK\x03\x04"


class Sheet:
    """The rows of one file; ``rows()`` yields (spreadsheet row number, header → text)."""

    def __init__(self, headers: list[str], rows: Iterator[tuple[int, list]]) -> None:
        self.headers = [h.strip() for h in headers]
        missing = [h for h in REQUIRED_HEADERS if h not in self.headers]
        if VILLAGE_CODE not in self.headers and VILLAGE_NAME not in self.headers:
            missing.insert(0, f"{VILLAGE_CODE} or {VILLAGE_NAME}")
        if missing:
            raise Problem(
                422,
                "Missing columns",
                f"the file lacks the column(s) {', '.join(missing)}; see the template "
                "(GET /imports/template.xlsx)",
                code="IMPORT_MISSING_COLUMNS",
                field=missing[0],
            )
        self._known = [(i, h) for i, h in enumerate(self.headers) if h in BY_HEADER]
        self._rows = rows

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        for number, values in self._rows:
            cells = {h: _text(values[i]) if i < len(values) else "" for i, h in self._known}
            if any(cells.values()):  # blank lines between blocks are common
                yield number, cells


def _text(value: object) -> str:
    if type(value) is str:  # every CSV cell, most XLSX ones: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):  # a number cell: 2016.0 → "2016", keep real decimals
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value).strip()


def open_sheet(content: bytes, filename: str = "") -> Sheet:
    """A CSV (UTF-8, with or without BOM, or GB18030 as Excel writes it) or an XLSX file."""
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        return _xlsx(content)
    return _csv(content)


def _csv(content: bytes) -> Sheet:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise Problem(422, "Unreadable file", "not UTF-8 or GB18030 text", code="IMPORT_ENCODING")
    reader = csv.reader(io.StringIO(text, newline=""))
    headers = next(reader, None)
    if headers is None:
        raise Problem(422, "Empty file", "the file has no header row", code="IMPORT_EMPTY")
    return Sheet(headers, ((n, row) for n, row in enumerate(reader, start=2)))


def _xlsx(content: bytes) -> Sheet:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
        raise Problem(
            422, "Unreadable file", f"not a valid XLSX file: {exc}", code="IMPORT_UNREADABLE"
        ) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    headers = next(rows, None)
    if headers is None:
        raise Problem(422, "Empty file", "the sheet has no header row", code="IMPORT_EMPTY")
    return Sheet(
        [_text(h) for h in headers], ((n, list(row)) for n, row in enumerate(rows, start=2))
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
