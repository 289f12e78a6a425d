"""Spreadsheet rows → validated household requests, with a per-row error report.

Two passes. :func:`group_rows` streams the file once: it resolves each row's village,
groups rows into households, finds a person on two rows, and marks the households that
cannot be imported (a row that cannot be placed, a person twice). It keeps each row as one
packed string and three integers, not as Python objects per cell, so an import's memory is
about the size of its file. :meth:`Grouped.chunks` then hands out the households in file
order, a chunk at a time, and :func:`read_household` reads one household's cells and
applies the household rules; it needs nothing else, so chunks are read in worker
processes while earlier chunks are written.

Pure: no I/O. The region list and the scope come in as data, so every rule here is
testable without a database. Each error names the spreadsheet row, the Chinese column
header and the reason; a household with any error is dropped whole, and is listed among
the failed households with its rows and its first error. Errors and failed households are
counted in full and kept up to a limit (:class:`FirstN`): a file of bad rows must not
hold an object per error.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from annotated_types import MaxLen
from pydantic import ValidationError

from contracts.enums import RegionLevel, Relation
from contracts.region import is_within
from contracts.resident_id import normalise_resident_id
from kit import problems
from kit.problems import Problem
from kit.spreadsheet import REFUSED, Row, refusal
from registry.evidence import Document
from registry.households import rules
from registry.households.schemas import HouseholdCreate
from registry.imports.columns import (
    BY_FIELD,
    COLUMNS,
    HOUSEHOLD_NO,
    ID_NUMBER,
    RELATION,
    VILLAGE_CODE,
    VILLAGE_NAME,
)

log = logging.getLogger(__name__)

#: Between the cells of a packed row: a control character, which the reader refuses in a cell.
SEPARATOR = "\x1f"
_CODE, _NAME, _NO, _ID = (
    next(i for i, c in enumerate(COLUMNS) if c.header == h)
    for h in (VILLAGE_CODE, VILLAGE_NAME, HOUSEHOLD_NO, ID_NUMBER)
)
_PLACEMENT_FIELDS = frozenset({"region_code", "village_name", "household_no"})
#: Household fields every member row may repeat; read from the head's row.
_HOUSEHOLD_FIELDS = tuple(
    c.field for c in COLUMNS if c.household and c.field not in _PLACEMENT_FIELDS
)
_PERSON_FIELDS = tuple(c.field for c in COLUMNS if not c.household)
_COLUMN_ORDER = {c.header: i for i, c in enumerate(COLUMNS)}
#: Members of a household, as the API accepts them (a larger household is not read further).
MAX_MEMBERS = next(
    m.max_length for m in HouseholdCreate.model_fields["members"].metadata if isinstance(m, MaxLen)
)
#: Rows listed for one failed household (a file without 户编号 is one huge household).
MAX_LISTED_ROWS = 100


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str  # Chinese header
    reason: str


@dataclass(slots=True)
class FailedHousehold:
    """A household of the file that was not imported, and why."""

    village: str  # the village code, or the 村代码 / 村名 as the file gives it
    household_no: str
    rows: list[int]  # its spreadsheet rows (the first MAX_LISTED_ROWS)
    persons: int
    errors: int  # its error rows
    reason: str  # its first error: "row 5, 身份证号: …"


def error_order(error: RowError) -> tuple[int, int]:
    """Errors by row, then in the order of the template's columns."""
    return error.row, _COLUMN_ORDER.get(error.column, len(_COLUMN_ORDER))


def failed_order(failed: FailedHousehold) -> tuple[int]:
    return (failed.rows[0],)


T = TypeVar("T")


class FirstN(Generic[T]):
    """Counts every item; keeps the first ``limit`` by ``key`` (all of them if None)."""

    def __init__(self, key: Callable[[T], tuple[int, ...]], limit: int | None) -> None:
        self.key = key  # a module-level function: the workers send these back pickled
        self.limit = limit
        self.total = 0
        self._kept: list[Any] = []  # limit None: the items; else a heap, the last item on top
        self._sequence = itertools.count()

    def add(self, item: T) -> None:
        self.total += 1
        if self.limit is None:
            self._kept.append(item)
            return
        key = self.key(item)
        full = len(self._kept) >= self.limit
        if full and (not self.limit or key >= self._kept[0][2]):
            return  # the common case once full: after every item kept (a tie: came later)
        # Negated key first: the heap's top is the item kept that goes first when a smaller
        # one comes.
        entry = (tuple(-k for k in key), -next(self._sequence), key, item)
        if full:
            heapq.heapreplace(self._kept, entry)
        else:
            heapq.heappush(self._kept, entry)

    def merge(self, other: FirstN[T]) -> None:
        kept = other.items()
        for item in kept:
            self.add(item)
        self.total += other.total - len(kept)

    def items(self) -> list[T]:
        if self.limit is None:
            return sorted(self._kept, key=self.key)
        return [entry[3] for entry in sorted(self._kept, key=lambda e: e[:2], reverse=True)]

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "limit": self.limit, "total": self.total, "_kept": self._kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sequence = itertools.count()


def new_errors(limit: int | None) -> FirstN[RowError]:
    return FirstN(error_order, limit)


def new_failures(limit: int | None) -> FirstN[FailedHousehold]:
    return FirstN(failed_order, limit)


@dataclass(frozen=True)
class RegionEntry:
    code: str
    name: str
    level: str


class RegionIndex:
    """The region list, for resolving 村代码 / 村名 within the import's scope."""

    def __init__(self, regions: Iterable[RegionEntry], scope: str) -> None:
        self.scope = scope
        self.by_code = {r.code: r for r in regions}
        self.villages_by_name: dict[str, list[str]] = defaultdict(list)
        for region in self.by_code.values():
            if region.level == RegionLevel.village and is_within(region.code, scope):
                self.villages_by_name[region.name].append(region.code)

    def resolve(self, code: str | None, name: str | None) -> tuple[str | None, str, str]:
        """(village code or None, column, reason)."""
        if code:
            region = self.by_code.get(code)
            if region is None:
                return None, VILLAGE_CODE, f"no region with code {code}"
            if region.level != RegionLevel.village:
                return None, VILLAGE_CODE, f"{code} is a {region.level}, not a village (村)"
            if not is_within(code, self.scope):
                return None, VILLAGE_CODE, f"{code} ({region.name}) is outside your region"
            if name and name != region.name:
                return None, VILLAGE_NAME, f"「{name}」 is not the name of {code} ({region.name})"
            return code, "", ""
        codes = self.villages_by_name.get(name or "", [])
        if not codes:
            return None, VILLAGE_NAME, f"no village named 「{name}」 in your region"
        if len(codes) > 1:
            return None, VILLAGE_NAME, f"several villages are named 「{name}」: give 村代码"
        return codes[0], "", ""


@dataclass(slots=True)
class ParsedHousehold:
    """One household of the file: its rows, its errors so far, and (once read, if valid)
    the API request."""

    region_code: str  # the village's code, or what the file says if it cannot be placed
    household_no: str
    rows: list[int]  # spreadsheet row of each member, in order
    cells: list[str]  # each row's cells, packed, until read
    errors: int = 0
    first_error: RowError | None = None
    request: HouseholdCreate | None = None

    @property
    def external_ref(self) -> str:
        return f"{self.region_code}-{self.household_no}"

    @property
    def first_row(self) -> int:
        return self.rows[0]

    def error(self, sink: FirstN[RowError], row: int, column: str, reason: str) -> None:
        """An error of one of its rows: into the import's errors, and counted here."""
        error = RowError(row, column, reason)
        sink.add(error)
        self.errors += 1
        if self.first_error is None or error_order(error) < error_order(self.first_error):
            self.first_error = error

    def failure(self) -> FailedHousehold:
        first = self.first_error
        reason = f"row {first.row}, {first.column}: {first.reason}" if first else ""
        return FailedHousehold(
            self.region_code,
            self.household_no,
            self.rows[:MAX_LISTED_ROWS],
            len(self.rows),
            self.errors,
            reason,
        )


def too_many_rows(limit: int) -> Problem:
    return problems.IMPORT_TOO_MANY_ROWS(
        f"the file has more than {limit:,} rows; the limit is {limit:,} "
        "(REGISTRY_IMPORT_MAX_ROWS): split the file, by township for instance"
    )


class Grouped:
    """Pass 1's outcome: every row packed, the household of each, the households that
    failed already, and where each ID number was first seen."""

    def __init__(self, regions: RegionIndex) -> None:
        self.regions = regions
        self.cells: list[str] = []  # per row: its cells joined by SEPARATOR
        self.numbers = array("I")  # per row: its spreadsheet row number
        self.household_of = array("I")  # per row: its household's index
        self.households: list[tuple[str, str]] = []  # (village, 户编号), by first row
        self.failed = bytearray()  # per household: 1 if a row cannot be placed or is a twin
        self.first_seen: dict[str, int] = {}  # ID number → index of its first row
        self.seen_again: dict[str, int] = {}  # ID number on two rows → the second's number

    @property
    def persons(self) -> int:
        return len(self.cells)

    def chunks(self, size: int, sink: FirstN[RowError]) -> Iterator[list[ParsedHousehold]]:
        """The households in file order, ``size`` at a time; those failed in pass 1 come
        with their placement errors already in ``sink``."""
        starts, order = self._rows_by_household()
        chunk: list[ParsedHousehold] = []
        for index, (village, household_no) in enumerate(self.households):
            rows = order[starts[index] : starts[index + 1]]
            parsed = ParsedHousehold(
                village,
                household_no,
                [self.numbers[i] for i in rows],
                [self.cells[i] for i in rows],
            )
            if self.failed[index]:
                for i in rows:
                    self._placement_errors(parsed, i, sink)
            chunk.append(parsed)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _rows_by_household(self) -> tuple[array, array]:
        """A counting sort of the row indexes by household, rows in file order within each:
        household ``k``'s rows are ``order[starts[k]:starts[k + 1]]``."""
        starts = array("I", bytes(4 * (len(self.households) + 1)))
        for household in self.household_of:
            starts[household + 1] += 1
        for k in range(1, len(starts)):
            starts[k] += starts[k - 1]
        position = array("I", starts)
        order = array("I", bytes(4 * len(self.household_of)))
        for i, household in enumerate(self.household_of):
            order[position[household]] = i
            position[household] += 1
        return starts, order

    def _placement_errors(
        self, parsed: ParsedHousehold, index: int, sink: FirstN[RowError]
    ) -> None:
        """The errors that made a row's household fail in pass 1, found again from its cells
        (kept nowhere in between: a file of such rows would hold an object per error)."""
        number, cells = self.numbers[index], self.cells[index].split(SEPARATOR)
        code, name, household_no = cells[_CODE], cells[_NAME], cells[_NO]
        if code.startswith(REFUSED) or name.startswith(REFUSED):
            pass  # said by read_household, as for any refused cell
        elif not code and not name:
            parsed.error(sink, number, VILLAGE_CODE, "give 村代码 or 村名")
        else:
            village, column, reason = self.regions.resolve(code or None, name or None)
            if village is None:
                parsed.error(sink, number, column, reason)
        if not household_no:
            parsed.error(sink, number, HOUSEHOLD_NO, "required")
        id_number = _normalised(cells[_ID])
        first = self.first_seen.get(id_number) if id_number else None
        if first is not None and first != index:
            reason = f"the same person is already on row {self.numbers[first]}"
            parsed.error(sink, number, ID_NUMBER, reason)
        elif first is not None and id_number in self.seen_again:
            again = self.seen_again[id_number]
            reason = (
                f"the same person is also on row {again}: neither household is imported "
                "until one of the rows is corrected"
            )
            parsed.error(sink, number, ID_NUMBER, reason)


def group_rows(
    rows: Iterable[Row], regions: RegionIndex, *, max_rows: int | None = None
) -> Grouped:
    """Pass 1: group the rows into households and mark those with a row that cannot be
    placed (village, 户编号) or with a person also on another row. More than ``max_rows``
    rows: the file is refused (413), before anything is written."""
    grouped = Grouped(regions)
    keys: dict[tuple[str, str], int] = {}
    resolved: dict[tuple[str, str], str | None] = {}  # a county file names a few villages
    cells_of, numbers, household_of, failed = (
        grouped.cells,
        grouped.numbers,
        grouped.household_of,
        grouped.failed,
    )
    for number, cells in rows:
        index = len(cells_of)
        if index == max_rows:
            raise too_many_rows(max_rows)
        code, name, household_no = cells[_CODE], cells[_NAME], cells[_NO]
        village: str | None = None
        if (code or name) and not (code.startswith(REFUSED) or name.startswith(REFUSED)):
            place = (code, name)
            if place not in resolved:
                resolved[place] = regions.resolve(code or None, name or None)[0]
            village = resolved[place]
        key = (village or code or name, household_no)
        household = keys.get(key)
        if household is None:
            household = keys[key] = len(grouped.households)
            grouped.households.append(key)
            failed.append(0)
        if village is None or not household_no or household_no.startswith(REFUSED):
            failed[household] = 1
        # Normalised, not validated (pass 2 says what is wrong with a bad number): the
        # checksum and division code checks were a third of this pass.
        id_number = _normalised(cells[_ID])
        if id_number:
            first = grouped.first_seen.setdefault(id_number, index)
            if first != index:
                failed[household] = failed[household_of[first]] = 1
                grouped.seen_again.setdefault(id_number, number)
        cells_of.append(SEPARATOR.join(cells))
        numbers.append(number)
        household_of.append(household)
    return grouped


def _normalised(cell: str) -> str:
    """The ID number of a cell as stored, "" for none (or a cell that is no number at all:
    its column's check says why)."""
    if not cell or cell.startswith(REFUSED):
        return ""
    try:
        return normalise_resident_id(cell)
    except Exception:  # noqa: BLE001 - the row boundary: the cell's check reports it
        return ""


def read_household(parsed: ParsedHousehold, evidence: Document, sink: FirstN[RowError]) -> bool:
    """Pass 2: read the household's cells and apply the household rules; its errors go to
    ``sink``. Sets ``parsed.request`` and answers True when they all hold; lets go of the
    cells either way."""
    oversized = len(parsed.rows) > MAX_MEMBERS
    if oversized:
        parsed.error(
            sink,
            parsed.rows[MAX_MEMBERS],
            HOUSEHOLD_NO,
            f"household {parsed.household_no} has {len(parsed.rows):,} rows; a household "
            f"has at most {MAX_MEMBERS} members",
        )
    members = []
    for number, packed in zip(parsed.rows, parsed.cells, strict=True):
        person, household = _read_cells(number, packed.split(SEPARATOR), parsed, sink)
        if not oversized:  # only its errors are wanted: keep nothing per row
            members.append((number, person, household))
    parsed.cells = []
    if parsed.errors:
        return False
    try:
        _household(parsed, members, evidence, sink)
    except Exception as exc:  # noqa: BLE001 - the row boundary: one household, not the import
        _unexpected(exc, "household rules")
        parsed.error(
            sink,
            parsed.first_row,
            HOUSEHOLD_NO,
            f"the household could not be checked ({type(exc).__name__}); it was not imported",
        )
    return not parsed.errors


def _read_cells(
    number: int, cells: list[str], parsed: ParsedHousehold, sink: FirstN[RowError]
) -> tuple[dict[str, Any], dict[str, Any]]:
    person: dict[str, Any] = {}
    household: dict[str, Any] = {}
    for column, cell in zip(COLUMNS, cells, strict=True):
        if cell.startswith(REFUSED):
            parsed.error(sink, number, column.header, refusal(cell))
            continue
        if column.field in _PLACEMENT_FIELDS:
            continue
        if not cell:
            if column.is_required and not column.household:
                parsed.error(sink, number, column.header, "required")
            continue
        try:
            value = column.read(cell)
        except ValueError as exc:
            parsed.error(sink, number, column.header, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - the row boundary: a row error, not an abort
            _unexpected(exc, column.header)
            parsed.error(
                sink,
                number,
                column.header,
                f"「{cell}」 could not be checked ({type(exc).__name__}): the row is refused",
            )
            continue
        (household if column.household else person)[column.field] = value
    return person, household


_logged: set[tuple[str, str]] = set()


def _unexpected(exc: Exception, where: str) -> None:
    """Log a check that failed unexpectedly, once per kind and place (a crafted file could
    repeat it on every row)."""
    if (type(exc).__name__, where) not in _logged:
        _logged.add((type(exc).__name__, where))
        log.error("import: unexpected %s checking %s", type(exc).__name__, where, exc_info=exc)


def _household(
    parsed: ParsedHousehold,
    members: list[tuple[int, dict[str, Any], dict[str, Any]]],
    evidence: Document,
    sink: FirstN[RowError],
) -> None:
    """Household rules over its rows; sets ``parsed.request`` when they all hold."""

    def error(row: int, column: str, reason: str) -> None:
        parsed.error(sink, row, column, reason)

    heads = [n for n, person, _ in members if person.get("relation") == Relation.head]
    if not heads:
        error(members[0][0], RELATION, f"household {parsed.household_no} has no 户主")
    for extra in heads[1:]:
        error(extra, RELATION, f"a second 户主 (the first is on row {heads[0]})")
    if parsed.errors:
        return
    # Household columns: the head's row, any other row that fills one must agree.
    ordered = sorted(members, key=lambda m: m[1]["relation"] != Relation.head)
    values: dict[str, Any] = {}
    for number, _, household in ordered:
        for name, value in household.items():
            if values.setdefault(name, value) != value:
                error(
                    number,
                    BY_FIELD[name].header,
                    f"differs from the 户主's row ({heads[0]}) of the same household",
                )
    for name in ("poverty_state", "causes", "primary_cause"):
        if name not in values:
            error(heads[0], BY_FIELD[name].header, "required (户主's row)")
    if parsed.errors:
        return
    try:
        rules.check_primary_cause(values["causes"], values["primary_cause"])
    except rules.RuleViolation:
        return error(heads[0], BY_FIELD["primary_cause"].header, "must be one of 致贫原因")
    survey = None
    if "per_capita_net_income" in values or "survey_year" in values:
        if "survey_year" not in values:
            return error(heads[0], BY_FIELD["survey_year"].header, "required with 人均纯收入")
        survey = {
            "survey_year": values["survey_year"],
            "per_capita_net_income": values.get("per_capita_net_income"),
        }
    body = {
        "region_code": parsed.region_code,
        "group_no": values.get("group_no"),
        "poverty_state": values["poverty_state"],
        "causes": values["causes"],
        "primary_cause": values["primary_cause"],
        "identified_year": values.get("identified_year"),
        "survey": survey,
        "evidence": [evidence],
        "members": [
            {k: person[k] for k in _PERSON_FIELDS if k in person} for _, person, _ in ordered
        ],
    }
    for name in ("assistance_type", "monitoring_category"):
        if name in values:
            body[name] = values[name]
    parsed.rows = [n for n, _, _ in ordered]  # the request's member order
    try:
        parsed.request = HouseholdCreate.model_validate(body)
    except ValidationError as exc:
        for problem in exc.errors():
            error(*_schema_error(problem, parsed.rows))


def _schema_error(error: dict, rows: list[int]) -> tuple[int, str, str]:
    """A schema error as (row, column, reason): members.<i>.<field> → that member's row."""
    loc = error["loc"]
    reason = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "members" and isinstance(loc[1], int):
        column = BY_FIELD.get(str(loc[2])) if len(loc) > 2 else None
        return rows[loc[1]], column.header if column else ID_NUMBER, reason
    column = BY_FIELD.get(str(loc[-1])) if loc else None
    if loc and loc[0] == "members":
        column = BY_FIELD["relation"]
    return rows[0], column.header if column else HOUSEHOLD_NO, reason
