"""Spreadsheet rows → validated household requests, with a per-row error report.

Two passes. :func:`group_rows` runs over the whole file: it resolves each row's village,
groups rows into households and finds a person on two rows (what needs the whole file).
:func:`read_household` then reads one household's cells and applies the household rules;
it needs nothing else, so households are read chunk by chunk, in worker processes while
earlier chunks are written.

Pure: no I/O. The region list and the scope come in as data, so every rule here is
testable without a database. Each error names the spreadsheet row, the Chinese column
header and the reason; a household with any error is dropped whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contracts.enums import RegionLevel, Relation
from contracts.region import is_within
from contracts.resident_id import normalise_resident_id
from registry.evidence import Document
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

#: Household fields every member row may repeat; read from the head's row.
_HOUSEHOLD_FIELDS = tuple(
    c.field
    for c in COLUMNS
    if c.household and c.field not in ("region_code", "village_name", "household_no")
)
_PERSON_FIELDS = tuple(c.field for c in COLUMNS if not c.household)
_COLUMN_ORDER = {c.header: i for i, c in enumerate(COLUMNS)}


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str  # Chinese header
    reason: str


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


@dataclass
class ParsedHousehold:
    """One household of the file: its rows and (once read, if valid) the API request."""

    region_code: str
    household_no: str
    rows: list[int] = field(default_factory=list)  # spreadsheet row of each member, in order
    cells: list[dict[str, str]] = field(default_factory=list)  # each row's, until read
    request: HouseholdCreate | None = None

    @property
    def external_ref(self) -> str:
        return f"{self.region_code}-{self.household_no}"

    @property
    def first_row(self) -> int:
        return self.rows[0]


@dataclass
class ParseResult:
    households: list[ParsedHousehold]  # to read (pass 2)
    errors: list[RowError]
    failed: int  # households dropped already (their cells read for the report only)
    failed_persons: int
    persons: int


def error_order(error: RowError) -> tuple[int, int]:
    """Errors by row, then in the order of the template's columns."""
    return error.row, _COLUMN_ORDER.get(error.column, len(_COLUMN_ORDER))


def group_rows(rows: Iterable[tuple[int, dict[str, str]]], regions: RegionIndex) -> ParseResult:
    """Pass 1: group the rows into households and drop those with a row that cannot be
    placed (village, 户编号) or with a person also on another row."""
    errors: list[RowError] = []
    groups: dict[tuple[str, str], ParsedHousehold] = {}
    bad: set[tuple[str, str]] = set()
    seen_numbers: dict[str, tuple[int, tuple[str, str]]] = {}
    persons = 0
    for number, cells in rows:
        persons += 1
        code, name = cells.get(VILLAGE_CODE, ""), cells.get(VILLAGE_NAME, "")
        household_no = cells.get(HOUSEHOLD_NO, "")
        village = None
        if not code and not name:
            errors.append(RowError(number, VILLAGE_CODE, "give 村代码 or 村名"))
        else:
            village, column, reason = regions.resolve(code or None, name or None)
            if village is None:
                errors.append(RowError(number, column, reason))
        if not household_no:
            errors.append(RowError(number, HOUSEHOLD_NO, "required"))
        key = (village or code or name, household_no)
        if village is None or not household_no:
            bad.add(key)
        # Normalised, not validated (pass 2 says what is wrong with a bad number): the
        # checksum and division code checks were a third of this pass.
        id_number = normalise_resident_id(cells.get(ID_NUMBER, ""))
        if id_number:
            first = seen_numbers.setdefault(id_number, (number, key))
            if first[0] != number:
                errors.append(
                    RowError(number, ID_NUMBER, f"the same person is already on row {first[0]}")
                )
                bad.update({key, first[1]})
        household = groups.get(key)
        if household is None:
            household = groups[key] = ParsedHousehold(key[0], key[1])
        household.rows.append(number)
        household.cells.append(cells)
    households, failed, failed_persons = [], 0, 0
    for key, household in groups.items():
        if key in bad:
            # Dropped, but every cell error is still worth reporting.
            for number, cells in zip(household.rows, household.cells, strict=True):
                _read_cells(number, cells, errors)
            failed += 1
            failed_persons += len(household.rows)
        else:
            households.append(household)
    return ParseResult(households, errors, failed, failed_persons, persons)


def read_household(parsed: ParsedHousehold, evidence: Document) -> list[RowError]:
    """Pass 2: read the household's cells and apply the household rules; sets
    ``parsed.request`` when they all hold, and lets go of the cells."""
    errors: list[RowError] = []
    members = []
    for number, cells in zip(parsed.rows, parsed.cells, strict=True):
        person, household = _read_cells(number, cells, errors)
        members.append((number, person, household))
    parsed.cells = []
    return errors or _household(parsed, members, evidence)


def _read_cells(
    number: int, cells: dict[str, str], errors: list[RowError]
) -> tuple[dict[str, Any], dict[str, Any]]:
    person: dict[str, Any] = {}
    household: dict[str, Any] = {}
    for column in COLUMNS:
        if column.field in ("region_code", "village_name", "household_no"):
            continue
        cell = cells.get(column.header, "")
        if not cell:
            if column.is_required and not column.household:
                errors.append(RowError(number, column.header, "required"))
            continue
        try:
            value = column.read(cell)
        except ValueError as exc:
            errors.append(RowError(number, column.header, str(exc)))
            continue
        (household if column.household else person)[column.field] = value
    return person, household


def _household(
    parsed: ParsedHousehold,
    members: list[tuple[int, dict[str, Any], dict[str, Any]]],
    evidence: Document,
) -> list[RowError]:
    """Household rules over its rows; sets ``parsed.request`` when they all hold."""
    errors: list[RowError] = []
    heads = [n for n, person, _ in members if person.get("relation") == Relation.head]
    if not heads:
        errors.append(
            RowError(members[0][0], RELATION, f"household {parsed.household_no} has no 户主")
        )
    for extra in heads[1:]:
        errors.append(RowError(extra, RELATION, f"a second 户主 (the first is on row {heads[0]})"))
    if errors:
        return errors
    # Household columns: the head's row, any other row that fills one must agree.
    ordered = sorted(members, key=lambda m: m[1]["relation"] != Relation.head)
    values: dict[str, Any] = {}
    for number, _, household in ordered:
        for name, value in household.items():
            if values.setdefault(name, value) != value:
                errors.append(
                    RowError(
                        number,
                        BY_FIELD[name].header,
                        f"differs from the 户主's row ({heads[0]}) of the same household",
                    )
                )
    for name in ("poverty_state", "causes", "primary_cause"):
        if name not in values:
            errors.append(RowError(heads[0], BY_FIELD[name].header, "required (户主's row)"))
    if errors:
        return errors
    if values["primary_cause"] not in values["causes"]:
        return [RowError(heads[0], BY_FIELD["primary_cause"].header, "must be one of 致贫原因")]
    survey = None
    if "per_capita_net_income" in values or "survey_year" in values:
        if "survey_year" not in values:
            return [RowError(heads[0], BY_FIELD["survey_year"].header, "required with 人均纯收入")]
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
        return [_schema_error(error, parsed.rows) for error in exc.errors()]
    return []


def _schema_error(error: dict, rows: list[int]) -> RowError:
    """A schema error as (row, column, reason): members.<i>.<field> → that member's row."""
    loc = error["loc"]
    reason = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "members" and isinstance(loc[1], int):
        column = BY_FIELD.get(str(loc[2])) if len(loc) > 2 else None
        return RowError(rows[loc[1]], column.header if column else ID_NUMBER, reason)
    column = BY_FIELD.get(str(loc[-1])) if loc else None
    if loc and loc[0] == "members":
        column = BY_FIELD["relation"]
    return RowError(rows[0], column.header if column else HOUSEHOLD_NO, reason)
