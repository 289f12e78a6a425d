"""Peak memory of parsing an import file: the hostile case of one-character rows.

    .venv/bin/python tests/benchmarks/import_memory.py --mib 1 8

Each row is ``1`` under the template's header: every row an error, all of them one
household (no 户编号), the case that once cost a dict per row and several error objects
per row. Parses as the import does (read, group, read each household, keep the first
errors), with the shipped row limit and with none, under tracemalloc (which slows it down
a few times: the CPU seconds are tracemalloc's too). No database: the parse is pure.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from kit.problems import Problem
from registry.config import RegistrySettings
from registry.evidence import Document
from registry.imports.columns import COLUMNS
from registry.imports.parse import (
    RegionEntry,
    RegionIndex,
    group_rows,
    new_errors,
    new_failures,
    read_household,
)
from registry.imports.reader import open_sheet

SETTINGS = RegistrySettings.model_fields


def one_character_rows(mib: float) -> bytes:
    header = (",".join(c.header for c in COLUMNS) + "\n").encode("utf-8-sig")
    return header + b"1\n" * ((int(mib * 2**20) - len(header)) // 2)


def parse(content: bytes, max_rows: int | None, max_errors: int) -> str:
    regions = RegionIndex([RegionEntry("622924100201", "西关村", "village")], "622924000000")
    evidence = Document(name="benchmark", sha256="0" * 64, location="import:benchmark")
    errors, failures = new_errors(max_errors), new_failures(max_errors)
    try:
        grouped = group_rows(open_sheet(content, "rows.csv").rows(), regions, max_rows=max_rows)
    except Problem as exc:
        return f"refused ({exc.status}: {exc.detail})"
    for chunk in grouped.chunks(1000, errors):
        for household in chunk:
            if not read_household(household, evidence, errors):
                failures.add(household.failure())
    return f"{grouped.persons:,} rows, {errors.total:,} errors, {failures.total} failed households"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, nargs="+", default=[1.0, 8.0])
    args = parser.parse_args()
    max_rows = SETTINGS["import_max_rows"].default
    max_errors = SETTINGS["import_max_stored_errors"].default
    for mib in args.mib:
        content = one_character_rows(mib)
        for limit in (max_rows, None):
            tracemalloc.start()
            started = time.process_time()
            outcome = parse(content, limit, max_errors)
            seconds = time.process_time() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(
                f"{mib:g} MiB, row limit {limit or 'none'}: peak {peak / 2**20:,.0f} MiB, "
                f"{seconds:.1f} s CPU; {outcome}"
            )


if __name__ == "__main__":
    main()
