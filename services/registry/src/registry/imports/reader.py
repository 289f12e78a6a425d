"""Reading an uploaded spreadsheet (CSV or XLSX) as a stream of numbered rows.

Rows are read one at a time (a CSV is decoded as it is read, an XLSX sheet is read with
openpyxl's read-only mode): an import holds the file's bytes, never a second copy of it as
text or as objects. Each row comes as the tuple of its cells in the order of ``COLUMNS``.
A cell that no column may hold (a control character, or far too long) is refused here:
it arrives as :data:`REFUSED` followed by the reason's code, which :func:`refusal` turns
into the reason, so the parse reports it as a row error of that row and column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from contracts.text import control_character
from kit.problems import Problem
from registry import errors
from registry.imports.columns import (
    COLUMNS,
    REQUIRED_HEADERS,
    VILLAGE_CODE,
    VILLAGE_NAME,
)

XLSX_MAGIC = b"PK\x03\x04"

#: Longest cell kept (no column takes more than 100 characters): a longer one is refused,
#: so a row of huge cells costs no more than a row of short ones, nor does its error text.
MAX_CELL = 200
#: An Excel sheet's rows: an XLSX with more (blank ones too) is refused. Compressed, a small
#: file can hold millions of blank rows: they cost no memory, but time.
MAX_SHEET_ROWS = 1_048_576
#: Compression ratio refused for a part over MAX_RATIO_FROM bytes: a spreadsheet's XML
#: deflates some 5-30:1; hundreds to one is a padded part, not data.
MAX_RATIO = 100
MAX_RATIO_FROM = 1024 * 1024
#: First character of a refused cell. Never a real cell: control characters are refused.
REFUSED = "\x00"
_TOO_LONG = REFUSED + "long"
_CONTROL_NAMES = {0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return"}

#: (spreadsheet row number, the row's cells in the order of COLUMNS)
Row = tuple[int, tuple[str, ...]]


def refusal(cell: str) -> str:
    """The reason a refused cell (one starting with REFUSED) was refused."""
    if cell == _TOO_LONG:
        return f"longer than {MAX_CELL} characters"
    code = cell[len(REFUSED) :]
    name = _CONTROL_NAMES.get(int(code[2:], 16))
    return f"contains the control character {code}{f' ({name})' if name else ''}: remove it"


class Sheet:
    """The header of one file; ``rows()`` reads its rows from the start, each time."""

    def __init__(self, headers: list[str], read: Callable[[], Iterator[Sequence]]) -> None:
        self.headers = [h.strip() for h in headers]
        missing = [h for h in REQUIRED_HEADERS if h not in self.headers]
        if VILLAGE_CODE not in self.headers and VILLAGE_NAME not in self.headers:
            missing.insert(0, f"{VILLAGE_CODE} or {VILLAGE_NAME}")
        if missing:
            raise errors.IMPORT_MISSING_COLUMNS(
                f"the file lacks the column(s) {', '.join(missing)}; see the template "
                "(GET /imports/template.xlsx)",
                field=missing[0],
            )
        # Where each column of COLUMNS is in the file (the first of a repeated header).
        self._positions = [
            self.headers.index(c.header) if c.header in self.headers else None for c in COLUMNS
        ]
        self._read = read  # the raw rows after the header, from the start at each call

    def rows(self) -> Iterator[Row]:
        """(spreadsheet row, cells in COLUMNS order), skipping blank rows."""
        positions = self._positions
        for number, values in enumerate(self._read(), start=2):
            if not any(values):  # blank lines between blocks are common: skipped, and cheaply
                continue
            width = len(values)
            cells = tuple(
                _cell(values[i]) if i is not None and i < width else "" for i in positions
            )
            if any(cells):  # not blank in the columns of the template
                yield number, cells


def _cell(value: object) -> str:
    text = _text(value)
    if len(text) > MAX_CELL:
        return _TOO_LONG
    if (control := control_character(text, one_line=True)) is not None:
        return REFUSED + control[0]  # a cell is one line: no tab or line break either
    return text


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


def open_sheet(content: bytes, filename: str = "", max_unpacked_bytes: int | None = None) -> Sheet:
    """A CSV (UTF-8, with or without BOM, or GB18030 as Excel writes it) or an XLSX file
    whose parts unpack to at most ``max_unpacked_bytes`` (None: any size, as the CLI reads
    a county's large file) and none of them absurdly inflated."""
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        _check_unpacked_size(content, max_unpacked_bytes)
        return _xlsx(content)
    return _csv(content)


def _csv(content: bytes) -> Sheet:
    if _decodes(content, "utf-8"):
        encoding = "utf-8-sig"
    elif _decodes(content, "gb18030"):
        encoding = "gb18030"
    else:
        raise errors.IMPORT_ENCODING("not UTF-8 or GB18030 text")

    def read() -> Iterator[list[str]]:
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline=""))
        try:
            yield from reader
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
            raise errors.IMPORT_UNREADABLE(f"row {reader.line_num}: {exc}") from None

    return _sheet(read)


def _decodes(content: bytes, encoding: str, step: int = 1 << 20) -> bool:
    """Whether the bytes are text in this encoding, decoded a slice at a time (the whole
    file decoded at once would be a second, larger copy of it)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(content)
    try:
        for start in range(0, len(content), step):
            decoder.decode(view[start : start + step], final=start + step >= len(content))
    except UnicodeDecodeError:
        return False
    return True


def _unreadable(exc: Exception) -> Problem:
    return errors.IMPORT_UNREADABLE(f"not a valid XLSX file: {exc}")


def _check_unpacked_size(content: bytes, limit: int | None) -> None:
    """Refuse an XLSX that unpacks to more than ``limit`` bytes, or a part of it that is
    inflated absurdly, from the sizes its zip directory declares, before anything is
    unpacked: openpyxl holds the shared strings in memory, read-only mode or not, and a few
    KB of zip can unpack to gigabytes of them. A part cannot yield more than its declared size: zipfile (which openpyxl
    reads through) stops there."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _unreadable(exc) from None
    total = sum(part.file_size for part in parts)
    if limit is not None and total > limit:
        raise errors.IMPORT_UNPACKS_TOO_LARGE(
            f"the XLSX file unpacks to {total:,} bytes; the limit is {limit:,} "
            "(REGISTRY_IMPORT_MAX_UNPACKED_BYTES): split the file, or upload it as CSV"
        )
    for part in parts:
        if part.file_size > MAX_RATIO_FROM and part.file_size > MAX_RATIO * max(
            part.compress_size, 1
        ):
            raise errors.IMPORT_UNPACKS_TOO_LARGE(
                f"the part {part.filename} of the XLSX file unpacks to {part.file_size:,} "
                f"bytes from {part.compress_size:,}; more than {MAX_RATIO} to 1 is refused "
                "(a padded file, not a spreadsheet): save it again from Excel, or as CSV"
            )


def _xlsx(content: bytes) -> Sheet:
    def read() -> Iterator[tuple]:
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
            raise _unreadable(exc) from None
        try:
            for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
                if number > MAX_SHEET_ROWS:
                    raise errors.IMPORT_TOO_MANY_ROWS(
                        f"the sheet has more than {MAX_SHEET_ROWS:,} rows, blank ones included: "
                        "more than Excel allows"
                    )
                yield row
        finally:
            book.close()

    return _sheet(read)


def _sheet(read: Callable[[], Iterator[Sequence]]) -> Sheet:
    """The sheet of a file whose ``read()`` iterates its raw rows, the header first."""
    rows = read()
    headers = next(rows, None)
    rows.close()
    if headers is None:
        raise errors.IMPORT_EMPTY("the file has no header row")

    def after_header() -> Iterator[Sequence]:
        data = read()
        next(data, None)
        return data

    return Sheet([_text(h) for h in headers], after_header)


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
