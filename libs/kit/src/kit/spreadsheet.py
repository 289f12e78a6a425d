"""Reading an uploaded spreadsheet (CSV or XLSX) as a stream of numbered rows.

Rows are read one at a time (a CSV is decoded as it is read, an XLSX sheet is read with
openpyxl's read-only mode): an import holds the file's bytes, never a second copy of it as
text or as objects. The caller names its columns (each with the headers it is known by);
each row comes as the tuple of its cells in that order. A cell that no column may hold (a
control character, or far too long) is refused here: it arrives as :data:`REFUSED`
followed by the reason's code, which :func:`refusal` turns into the reason, so the caller
reports it as a row error of that row and column.

The registry's household import and education's roster (学籍) import read their files
through this module; what a column means is theirs.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from enum import StrEnum

from openpyxl import load_workbook

from contracts.enums import LABELS
from contracts.text import control_character
from kit import problems
from kit.problems import Problem

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

#: (spreadsheet row number, the row's cells in the order of the caller's columns)
Row = tuple[int, tuple[str, ...]]
#: A column as the file may head it: its headers, the first the one messages name.
Headers = Sequence[str]


def refusal(cell: str) -> str:
    """The reason a refused cell (one starting with REFUSED) was refused."""
    if cell == _TOO_LONG:
        return f"longer than {MAX_CELL} characters"
    code = cell[len(REFUSED) :]
    name = _CONTROL_NAMES.get(int(code[2:], 16))
    return f"contains the control character {code}{f' ({name})' if name else ''}: remove it"


class Sheet:
    """The header of one file; ``rows()`` reads its rows from the start, each time."""

    def __init__(
        self,
        headers: list[str],
        read: Callable[[], Iterator[Sequence]],
        columns: Sequence[Headers],
        required: Sequence[Headers],
        template: str,
    ) -> None:
        self.headers = [h.strip() for h in headers]
        missing = [" or ".join(names) for names in required if self.position(names) is None]
        if missing:
            raise problems.IMPORT_MISSING_COLUMNS(
                f"the file lacks the column(s) {', '.join(missing)}; see the template ({template})",
                field=missing[0],
            )
        # Where each column is in the file (the first header of it the file has).
        self._positions = [self.position(names) for names in columns]
        self._read = read  # the raw rows after the header, from the start at each call

    def position(self, names: Headers) -> int | None:
        """Where the file has the column known by these headers (the first found), or None."""
        return next((self.headers.index(n) for n in names if n in self.headers), None)

    def rows(self) -> Iterator[Row]:
        """(spreadsheet row, cells in the columns' order), skipping blank rows."""
        positions = self._positions
        for number, values in enumerate(self._read(), start=2):
            if not any(values):  # blank lines between blocks are common: skipped, and cheaply
                continue
            width = len(values)
            cells = tuple(
                _cell(values[i]) if i is not None and i < width else "" for i in positions
            )
            if any(cells):  # not blank in the caller's columns
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


def open_sheet(
    content: bytes,
    filename: str = "",
    *,
    columns: Sequence[Headers],
    required: Sequence[Headers] = (),
    template: str,
    max_unpacked_bytes: int | None = None,
    unpacked_setting: str = "",
) -> Sheet:
    """A CSV (UTF-8, with or without BOM, or GB18030 as Excel writes it) or an XLSX file
    whose parts unpack to at most ``max_unpacked_bytes`` (None: any size, as a command
    line reads a county's large file; ``unpacked_setting`` names the setting in the
    refusal) and none of them absurdly inflated.

    ``columns`` are the caller's columns, each as the headers it is known by; a file
    without one of ``required`` (a header, or several of which one will do) is refused,
    pointing at the ``template`` (where to get it)."""
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        _check_unpacked_size(content, max_unpacked_bytes, unpacked_setting)
        read = _xlsx(content)
    else:
        read = _csv(content)
    headers = _header(read)
    return Sheet(headers, _after_header(read), columns, required, template)


def _csv(content: bytes) -> Callable[[], Iterator[Sequence]]:
    if _decodes(content, "utf-8"):
        encoding = "utf-8-sig"
    elif _decodes(content, "gb18030"):
        encoding = "gb18030"
    else:
        raise problems.IMPORT_ENCODING("not UTF-8 or GB18030 text")

    def read() -> Iterator[list[str]]:
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline=""))
        try:
            yield from reader
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
            raise problems.IMPORT_UNREADABLE(f"row {reader.line_num}: {exc}") from None

    return read


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
    return problems.IMPORT_UNREADABLE(f"not a valid XLSX file: {exc}")


def _check_unpacked_size(content: bytes, limit: int | None, setting: str) -> None:
    """Refuse an XLSX that unpacks to more than ``limit`` bytes, or a part of it that is
    inflated absurdly, from the sizes its zip directory declares, before anything is
    unpacked: openpyxl holds the shared strings in memory, read-only mode or not, and a few
    KB of zip can unpack to gigabytes of them. A part cannot yield more than its declared
    size: zipfile (which openpyxl reads through) stops there."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _unreadable(exc) from None
    total = sum(part.file_size for part in parts)
    if limit is not None and total > limit:
        named = f" ({setting})" if setting else ""
        raise problems.IMPORT_UNPACKS_TOO_LARGE(
            f"the XLSX file unpacks to {total:,} bytes; the limit is {limit:,}{named}: "
            "split the file, or upload it as CSV"
        )
    for part in parts:
        if part.file_size > MAX_RATIO_FROM and part.file_size > MAX_RATIO * max(
            part.compress_size, 1
        ):
            raise problems.IMPORT_UNPACKS_TOO_LARGE(
                f"the part {part.filename} of the XLSX file unpacks to {part.file_size:,} "
                f"bytes from {part.compress_size:,}; more than {MAX_RATIO} to 1 is refused "
                "(a padded file, not a spreadsheet): save it again from Excel, or as CSV"
            )


def _xlsx(content: bytes) -> Callable[[], Iterator[Sequence]]:
    def read() -> Iterator[tuple]:
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
            raise _unreadable(exc) from None
        try:
            for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
                if number > MAX_SHEET_ROWS:
                    raise problems.IMPORT_TOO_MANY_ROWS(
                        f"the sheet has more than {MAX_SHEET_ROWS:,} rows, blank ones included: "
                        "more than Excel allows"
                    )
                yield row
        finally:
            book.close()

    return read


def _header(read: Callable[[], Iterator[Sequence]]) -> list[str]:
    """The first row of a file whose ``read()`` iterates its raw rows, the header first."""
    rows = read()
    headers = next(rows, None)
    rows.close()
    if headers is None:
        raise problems.IMPORT_EMPTY("the file has no header row")
    return [_text(h) for h in headers]


def _after_header(read: Callable[[], Iterator[Sequence]]) -> Callable[[], Iterator[Sequence]]:
    def after_header() -> Iterator[Sequence]:
        data = read()
        next(data, None)
        return data

    return after_header


# --- reading a cell: what more than one import's columns take ----------------------------

_TRUE = frozenset({"是", "有", "y", "yes", "true", "1"})
_FALSE = frozenset({"否", "无", "n", "no", "false", "0"})


def enum_cell(enum_cls: type[StrEnum]) -> tuple[Callable[[str], StrEnum], str]:
    """A reader of a cell that takes the code or the Chinese label of ``contracts.enums``
    (each half of a label like 儿媳/女婿), and the allowed values as the template lists them.
    A cell that is neither: ValueError with the reason."""
    names: dict[str, StrEnum] = {}
    for member in enum_cls:
        names[member.value.lower()] = member
        label = LABELS.get(member)
        if label:
            names[label] = member
            for part in label.split("/"):
                names.setdefault(part, member)
    allowed = "、".join(LABELS.get(m, m.value) for m in enum_cls)

    def read(cell: str) -> StrEnum:
        found = names.get(cell) or names.get(cell.lower())
        if found is None:
            raise ValueError(f"「{cell}」 is not one of: {allowed}")
        return found

    return read, allowed


def yes_no(cell: str) -> bool:
    """是 / 否 (有 / 无, yes / no, 1 / 0)."""
    if cell.lower() in _TRUE:
        return True
    if cell.lower() in _FALSE:
        return False
    raise ValueError(f"「{cell}」 is not 是 or 否")


def date_cell(cell: str) -> dt.date:
    """A date written 2001-02-03, 2001/02/03, 20010203 or 2001.02.03 (or a date cell)."""
    text = cell.split(" ")[0].split("T")[0]  # an XLSX date cell arrives as "2001-02-03 00:00:00"
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"「{cell}」 is not a date like 2001-02-03")
