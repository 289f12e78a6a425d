"""``python -m registry.imports FILE --region CODE``: import a spreadsheet straight into the
registry database (no upload limit), with a progress bar and the error report as CSV.

``python -m registry.imports --template template.xlsx`` writes the template.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import os
import sys
from pathlib import Path

from rich.console import Console

from contracts.region import validate_region_code
from kit.auth import Principal
from kit.db import create_engine, create_sessionmaker
from kit.problems import Problem
from kit.progress import progress_bar
from registry.config import RegistrySettings
from registry.imports.reader import template_xlsx
from registry.imports.service import ImportInterrupted, ImportReport, ImportService
from registry.pii import IdNumberVault


async def run(path: Path, region: str, errors_file: Path, console: Console) -> int:
    settings = RegistrySettings()
    engine = create_engine(settings.database_url)
    service = ImportService(
        IdNumberVault.from_settings(settings),
        chunk_households=settings.import_chunk_households,
        workers=settings.import_workers or os.cpu_count() or 1,
    )
    actor = Principal(
        subject=f"import-cli:{getpass.getuser()}",
        scopes=frozenset({"registry:write"}),
        region=region,
        roles=("import_cli",),
    )
    with progress_bar(console) as progress:
        task = progress.add_task(f"importing {path.name} (persons)", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = await service.run(
                create_sessionmaker(engine), path.read_bytes(), path.name, actor, progress=advance
            )
            code = 0
        except ImportInterrupted as exc:
            report, code = exc.report, 3
        except Problem as exc:
            console.print(f"[red]{exc.title}[/red]: {exc.detail}")
            return 2
        finally:
            await engine.dispose()
    write_errors(report, errors_file)
    print_report(report, errors_file, console)
    return code


def write_errors(report: ImportReport, errors_file: Path) -> None:
    with errors_file.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["行号", "列名", "原因"])
        writer.writerows((e.row, e.column, e.reason) for e in report.errors)


def print_report(report: ImportReport, errors_file: Path, console: Console) -> None:
    console.print(
        f"persons read {report.persons}, households {report.households}: "
        f"[green]imported {report.imported}[/green] ({report.persons_imported} persons), "
        f"skipped as already imported {report.skipped} "
        f"({report.skipped_changed} differ from the file), [red]failed {report.failed}[/red]"
    )
    if report.errors:
        console.print(f"{report.errors_total} errors written to {errors_file}")
    if report.interrupted:
        console.print(
            f"[red]interrupted[/red]: {report.interrupted}; run the same file again to complete"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m registry.imports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("file", nargs="?", type=Path, help="the spreadsheet (.csv or .xlsx)")
    parser.add_argument("--region", help="county (or higher) code the import is for")
    parser.add_argument("--errors", type=Path, help="error report CSV (default FILE.errors.csv)")
    parser.add_argument("--template", type=Path, help="write the XLSX template here and stop")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    if args.template:
        args.template.write_bytes(template_xlsx())
        console.print(f"template written to {args.template}")
        return 0
    if not args.file or not args.region:
        parser.error("give FILE and --region (or --template PATH)")
    validate_region_code(args.region)
    errors_file = args.errors or args.file.with_suffix(".errors.csv")
    return asyncio.run(run(args.file, args.region, errors_file, console))


if __name__ == "__main__":
    sys.exit(main())
