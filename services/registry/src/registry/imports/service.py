"""Bulk import (批量导入) of a county's existing spreadsheet.

The file is read as a stream and grouped (``parse``, pass 1); then its households are
read and checked a chunk at a time, and the valid ones are written, one transaction per chunk, with PostgreSQL COPY: households, members,
their 存量档案录入 workflow step, their ``registry.household.created`` outbox row and
their audit entry (the rows :meth:`kit.changes.Changes.record` writes, built by its row
builders). A crash between chunks leaves whole households only; a re-run skips what is
there (``external_ref`` = village code + 户编号) and completes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import inspect
import json
import logging
import multiprocessing
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.events import registry as events
from contracts.resident_id import birth_date, gender
from kit.auth import Principal
from kit.changes import AggregateRef
from kit.clock import Clock
from kit.db import atomic
from kit.outbox import notify
from kit.policy import Overrides
from registry.audit import audit
from registry.events import changes, dimensions_of, household_fields
from registry.evidence import Document
from registry.households.rules import INTAKE_STATES
from registry.households.schemas import HouseholdCreate
from registry.households.service import MEMBER_FIELDS, audit_view, survey_values
from registry.imports.columns import BY_FIELD, HOUSEHOLD_NO, ID_NUMBER
from registry.imports.parse import (
    FailedHousehold,
    FirstN,
    ParsedHousehold,
    RegionEntry,
    RegionIndex,
    RowError,
    group_rows,
    new_errors,
    new_failures,
    read_household,
)
from registry.imports.reader import open_sheet
from registry.models import Region
from registry.pii import IdNumberVault
from registry.policy import POVERTY_LINE, policy

log = logging.getLogger(__name__)

HOUSEHOLD_COLUMNS = (
    "id",
    "region_code",
    "group_no",
    "poverty_state",
    "assistance_type",
    "monitoring_category",
    "causes",
    "primary_cause",
    "identified_year",
    "survey_year",
    "income_items",
    "per_capita_net_income",
    "survey_recorded_at",
    "food_clothing_secure",
    "safe_drinking_water",
    "has_electricity",
    "has_radio_tv",
    "assets",
    "land_area_mu",
    "external_ref",
    "version",
)
MEMBER_COLUMNS = (
    "id",
    "household_id",
    "name",
    "id_number_hash",
    "id_number_cipher",
    "id_number_masked",
    "id_pending",
    "gender",
    "birth_date",
    "relation",
    "groups",
    *MEMBER_FIELDS,
)
STEP_COLUMNS = (
    "household_id",
    "action",
    "from_state",
    "to_state",
    "actor",
    "roles",
    "on_date",
    "details",
    "evidence",
)
OUTBOX_COLUMNS = ("id", "subject", "event_type", "aggregate_id", "envelope")
AUDIT_COLUMNS = (
    "actor",
    "roles",
    "action",
    "entity",
    "entity_id",
    "region_code",
    "before",
    "after",
)
#: Household fields compared when a household of the file is already in the register.
COMPARED_FIELDS = (
    "poverty_state",
    "assistance_type",
    "monitoring_category",
    "causes",
    "primary_cause",
)


class _Record:
    """Attribute bag standing in for a Household or Member when building payloads: the
    event and audit builders read attributes, and ORM objects cost more than they help here."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


@dataclass
class Prepared:
    """One household ready to COPY."""

    parsed: ParsedHousehold
    household: tuple
    members: list[tuple]
    step: tuple | None
    outbox: tuple
    audit: tuple
    hashes: dict[str, int]  # id-number hash → spreadsheet row
    signature: tuple


@dataclass(frozen=True)
class Work:
    """What preparing a household needs besides the household (sent to the workers)."""

    actor: Principal
    now: dt.datetime
    today: dt.date
    import_id: uuid.UUID
    evidence: Document
    #: The poverty lines (one query for the whole import): the events' dimensions.
    lines: Overrides


@dataclass
class PreparedChunk:
    households: list[Prepared]  # valid, ready to COPY
    errors: FirstN[RowError]
    failures: FirstN[FailedHousehold]  # households of the chunk dropped for an error
    persons: int  # persons in the chunk


@dataclass
class ImportReport:
    import_id: uuid.UUID
    file_name: str
    sha256: str
    persons: int = 0
    households: int = 0
    imported: int = 0
    persons_imported: int = 0
    skipped: int = 0
    skipped_changed: int = 0
    failed: int = 0
    #: The first error rows (the import's ``max_errors``), by row; ``errors_total``: all.
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    #: Every household not imported (the first ``max_errors``), with its rows and first error.
    failed_households: list[FailedHousehold] = field(default_factory=list)
    interrupted: str | None = None
    #: Wall-clock seconds by phase: read and validate, prepare (waiting for it, with
    #: workers), write (checks and COPY): where an import's time goes.
    seconds: dict[str, float] = field(
        default_factory=lambda: dict(parse=0.0, prepare=0.0, write=0.0)
    )


class ImportInterrupted(Exception):
    """The database failed mid-way: committed chunks stay, the rest is not written."""

    def __init__(self, report: ImportReport, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.report = report


#: (persons done, persons in the file); may be a coroutine function.
Progress = Callable[[int, int], Any]


async def _call(progress: Progress, done: int, total: int) -> None:
    result = progress(done, total)
    if inspect.isawaitable(result):
        await result


class ImportService:
    def __init__(
        self,
        vault: IdNumberVault,
        clock: Clock | None = None,
        *,
        chunk_households: int = 1000,
        workers: int = 0,
        max_rows: int | None = None,
        max_errors: int | None = None,
        max_unpacked_bytes: int | None = None,
    ) -> None:
        self.vault = vault
        self.clock = clock or Clock()
        self.chunk_households = chunk_households
        #: A file with more rows is refused before anything is written; None: no limit.
        self.max_rows = max_rows
        #: Error rows (and failed households) kept for the report; all are counted.
        self.max_errors = max_errors
        #: What an XLSX may unpack to (see reader.open_sheet); None: no limit.
        self.max_unpacked_bytes = max_unpacked_bytes
        #: Processes preparing chunks (hashing, encryption, events) while this one writes;
        #: 0 or 1: in this process.
        self.workers = workers

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        content: bytes,
        file_name: str,
        actor: Principal,
        *,
        region: str | None = None,
        progress: Progress | None = None,
        import_id: uuid.UUID | None = None,
    ) -> ImportReport:
        """Import the file for ``region`` (the caller's region by default). ``progress`` is
        called (and awaited, if it is a coroutine function) after each chunk."""
        started = time.perf_counter()
        sheet = await asyncio.to_thread(open_sheet, content, file_name, self.max_unpacked_bytes)
        report = ImportReport(
            import_id or uuid.uuid4(), file_name, hashlib.sha256(content).hexdigest()
        )
        async with sessions() as session:
            regions = [
                RegionEntry(r.code, r.name, r.level)
                for r in (await session.execute(select(Region))).scalars()
            ]
        evidence = Document(
            name=f"导入文件 {file_name}"[:200],
            sha256=report.sha256,
            location=f"import:{report.import_id}",
        )
        errors, failures = new_errors(self.max_errors), new_failures(self.max_errors)
        with self._worker_pool() as pool:  # its processes start while the file is grouped
            # CPU-bound: in a thread, so that a large upload does not stall the server's other
            # requests for its whole duration (they still share the interpreter).
            grouped = await asyncio.to_thread(
                group_rows,
                sheet.rows(),
                RegionIndex(regions, region or actor.region),
                max_rows=self.max_rows,
            )
            report.persons = grouped.persons
            report.households = len(grouped.households)
            report.seconds["parse"] = time.perf_counter() - started
            if progress:
                await _call(progress, 0, report.persons)
            async with sessions() as session:
                lines = await policy.overrides(session, POVERTY_LINE)
            now = self.clock.now()
            work = Work(actor, now, self.clock.today(), report.import_id, evidence, lines)
            chunks = grouped.chunks(self.chunk_households, errors)
            if len(grouped.households) < 4 * self.chunk_households:
                pool = None  # the pool is worth it only with chunks enough to amortise it
            try:
                await self._write_all(
                    sessions, self._prepared(chunks, work, pool), report, errors, failures, progress
                )
            except Exception as exc:
                report.interrupted = f"{type(exc).__name__}: {exc}"
                log.exception("import %s interrupted", report.import_id)
                _finish(report, errors, failures)
                await self._audit_batch(sessions, report, actor, region)
                raise ImportInterrupted(report, exc) from exc
        _finish(report, errors, failures)
        await self._audit_batch(sessions, report, actor, region)
        return report

    async def _write_all(
        self,
        sessions: async_sessionmaker[AsyncSession],
        stream: AsyncIterator[PreparedChunk],
        report: ImportReport,
        errors: FirstN[RowError],
        failures: FirstN[FailedHousehold],
        progress: Progress | None,
    ) -> None:
        """Write the prepared chunks as they come, counting where the time goes."""
        done = 0
        async with contextlib.aclosing(stream):
            waiting = time.perf_counter()
            async for chunk in stream:
                writing = time.perf_counter()
                report.seconds["prepare"] += writing - waiting
                errors.merge(chunk.errors)
                failures.merge(chunk.failures)
                await self._write_chunk(sessions, chunk.households, report, errors, failures)
                waiting = time.perf_counter()
                report.seconds["write"] += waiting - writing
                done += chunk.persons
                if progress:
                    await _call(progress, done, report.persons)

    # --- preparing rows (CPU only) ---------------------------------------------------------

    @contextlib.contextmanager
    def _worker_pool(self) -> Iterator[ProcessPoolExecutor | None]:
        """The processes preparing chunks, started at once (a process imports the registry
        for a few seconds before its first chunk); None: prepare in this process."""
        if self.workers <= 1:
            yield None
            return
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(self,)
        ) as pool:
            for _ in range(self.workers):
                pool.submit(_started)
            yield pool

    async def _prepared(
        self,
        chunks: Iterator[list[ParsedHousehold]],
        work: Work,
        pool: ProcessPoolExecutor | None,
    ) -> AsyncIterator[PreparedChunk]:
        """Chunks read and prepared, in file order: here, or in the pool, kept a few chunks
        ahead of the writer."""
        loop = asyncio.get_running_loop()
        ahead: deque[asyncio.Future] = deque()
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            if pool is None:
                yield await asyncio.to_thread(self.prepare_chunk, chunk, work)
                continue
            ahead.append(loop.run_in_executor(pool, _prepare_chunk, chunk, work))
            if len(ahead) > 2 * self.workers:
                yield await ahead.popleft()
        while ahead:
            yield await ahead.popleft()

    def prepare_chunk(self, chunk: list[ParsedHousehold], work: Work) -> PreparedChunk:
        """Read each household of the chunk (pass 2 of the parse) and prepare the valid ones."""
        prepared = PreparedChunk([], new_errors(self.max_errors), new_failures(self.max_errors), 0)
        for parsed in chunk:
            prepared.persons += len(parsed.rows)
            if read_household(parsed, work.evidence, prepared.errors):
                try:
                    prepared.households.append(self.prepare(parsed, work))
                    continue
                except Exception as exc:  # noqa: BLE001 - the row boundary: one household fails
                    log.error("import: preparing household %s", parsed.external_ref, exc_info=exc)
                    parsed.error(
                        prepared.errors,
                        parsed.first_row,
                        HOUSEHOLD_NO,
                        f"the household could not be prepared ({type(exc).__name__}); "
                        "it was not imported",
                    )
            prepared.failures.add(parsed.failure())
        return prepared

    def prepare(self, parsed: ParsedHousehold, work: Work) -> Prepared:
        actor, today, import_id = work.actor, work.today, work.import_id
        data: HouseholdCreate = parsed.request  # type: ignore[assignment]
        household_id = uuid.uuid4()
        values: dict[str, Any] = dict(
            id=household_id,
            region_code=data.region_code,
            group_no=data.group_no,
            poverty_state=data.poverty_state.value,
            stage=None,
            assistance_type=data.assistance_type.value,
            monitoring_category=data.monitoring_category.value,
            causes=[c.value for c in data.causes],
            primary_cause=data.primary_cause.value,
            identified_year=data.identified_year,
            planned_exit_year=None,
            exit_year=None,
            policy_continuity_until=None,
            monitored_until=None,
            survey_year=None,
            income_items={},
            per_capita_net_income=None,
            survey_recorded_at=None,
            food_clothing_secure=None,
            safe_drinking_water=None,
            has_electricity=None,
            has_radio_tv=None,
            assets=[],
            land_area_mu=None,
            merged_into=None,
            external_ref=parsed.external_ref,
            version=1,
        )
        if data.survey:
            values.update(survey_values(data.survey, len(data.members)))
            values["survey_recorded_at"] = work.now
        household = _Record(**values)
        members, hashes, keys = [], {}, []
        for row, m in zip(parsed.rows, data.members, strict=True):
            if m.id_number:
                lookup = self.vault.lookup_hash(m.id_number)
                identity = dict(
                    id_number_hash=lookup,
                    id_number_cipher=self.vault.encrypt(m.id_number),
                    id_number_masked=self.vault.mask(m.id_number),
                    id_pending=False,
                    gender=gender(m.id_number).value,
                    birth_date=birth_date(m.id_number),
                )
                hashes[lookup] = row
            else:
                identity = dict(
                    id_number_hash=None,
                    id_number_cipher=None,
                    id_number_masked=None,
                    id_pending=True,
                    gender=m.gender.value,
                    birth_date=m.birth_date,
                )
            members.append(
                _Record(
                    id=uuid.uuid4(),
                    household_id=household_id,
                    name=m.name,
                    relation=m.relation.value,
                    groups=[g.value for g in m.groups],
                    **{f: getattr(m, f) for f in MEMBER_FIELDS},  # StrEnum is a str for COPY
                    **identity,
                )
            )
            keys.append(f"{identity['id_number_hash'] or m.name}|{m.relation.value}")
        dimensions = dimensions_of(household, work.lines, today.year)  # type: ignore[arg-type]
        payload = events.HouseholdCreated(
            **household_fields(household, members, dimensions=dimensions)  # type: ignore[arg-type]
        )
        # the rows POST /households writes, built by the same write path
        ref = AggregateRef("household", household_id, data.region_code, values["version"])
        event = changes.event_row(ref, events.HOUSEHOLD_CREATED, payload)
        entry = changes.audit_row(
            ref,
            actor=actor,
            event=events.HOUSEHOLD_CREATED,
            after=audit_view(household, members, event["envelope"]["data"]),  # type: ignore[arg-type]
        )
        step = None
        if data.poverty_state not in INTAKE_STATES:
            # 存量档案录入, as POST /households records it: the imported file is the evidence
            step = (
                household_id,
                "enter_existing",
                data.poverty_state.value,
                data.poverty_state.value,
                actor.subject,
                list(actor.roles),
                today,
                json.dumps({"import_id": str(import_id), "rows": parsed.rows}),
                json.dumps([d.model_dump() for d in data.evidence]),
            )
        return Prepared(
            parsed=parsed,
            household=tuple(
                _json(values[c]) if c in _JSON_COLUMNS else values[c] for c in HOUSEHOLD_COLUMNS
            ),
            members=[tuple(m.__dict__[c] for c in MEMBER_COLUMNS) for m in members],
            step=step,
            outbox=tuple(_json(event[c]) if c == "envelope" else event[c] for c in OUTBOX_COLUMNS),
            audit=tuple(_json(entry[c]) if c == "after" else entry[c] for c in AUDIT_COLUMNS),
            hashes=hashes,
            signature=(
                values["region_code"],
                *(_sortable(values[f]) for f in COMPARED_FIELDS),
                tuple(sorted(keys)),
            ),
        )

    # --- writing (one transaction per chunk) ------------------------------------------------

    async def _write_chunk(
        self,
        sessions: async_sessionmaker[AsyncSession],
        prepared: list[Prepared],
        report: ImportReport,
        errors: FirstN[RowError],
        failures: FirstN[FailedHousehold],
    ) -> None:
        for attempt in range(3):
            try:
                async with sessions() as session, atomic(session):
                    outcome = await self._check(session, prepared)
                    await self._copy(session, [p for kind, p, _ in outcome if kind == "write"])
            except Exception as exc:
                # A concurrent import or API call took a key since the check: look again.
                if _is_unique_violation(exc) and attempt < 2:
                    continue
                raise
            self._count(report, outcome, errors, failures)
            return

    async def _check(
        self, session: AsyncSession, prepared: list[Prepared]
    ) -> list[tuple[str, Prepared, Any]]:
        """Each household of the chunk: write, skipped (already imported) or failed (a person
        is registered elsewhere)."""
        existing = await self._existing(session, [p.parsed.external_ref for p in prepared])
        taken = await self._taken(session, [h for p in prepared for h in p.hashes])
        outcome: list[tuple[str, Prepared, Any]] = []
        for p in prepared:
            found = existing.get(p.parsed.external_ref)
            if found is not None:
                outcome.append(("skipped", p, _differences(found, p.signature)))
                continue
            clashes = [(h, taken[h]) for h in p.hashes if h in taken]
            outcome.append(("failed", p, clashes) if clashes else ("write", p, None))
        return outcome

    async def _copy(self, session: AsyncSession, writes: list[Prepared]) -> None:
        if not writes:
            return
        conn = await _driver(session)
        await conn.copy_records_to_table(
            "households", records=[p.household for p in writes], columns=HOUSEHOLD_COLUMNS
        )
        await conn.copy_records_to_table(
            "members", records=[m for p in writes for m in p.members], columns=MEMBER_COLUMNS
        )
        steps = [p.step for p in writes if p.step]
        if steps:
            await conn.copy_records_to_table("workflow_steps", records=steps, columns=STEP_COLUMNS)
        await conn.copy_records_to_table(
            "outbox", records=[p.outbox for p in writes], columns=OUTBOX_COLUMNS
        )
        await conn.copy_records_to_table(
            "audit_log", records=[p.audit for p in writes], columns=AUDIT_COLUMNS
        )
        await notify(session)

    def _count(
        self,
        report: ImportReport,
        outcome: list[tuple[str, Prepared, Any]],
        errors: FirstN[RowError],
        failures: FirstN[FailedHousehold],
    ) -> None:
        for kind, p, detail in outcome:
            if kind == "write":
                report.imported += 1
                report.persons_imported += len(p.parsed.rows)
            elif kind == "skipped":
                report.skipped += 1
                if detail:
                    report.skipped_changed += 1
                    errors.add(
                        RowError(
                            p.parsed.first_row,
                            HOUSEHOLD_NO,
                            f"already imported as {p.parsed.external_ref}; the register differs "
                            f"in {'、'.join(detail)} and was not overwritten (change it through "
                            "the API, where the workflow rules apply)",
                        )
                    )
            else:
                for lookup, ref in detail:
                    p.parsed.error(
                        errors,
                        p.hashes[lookup],
                        ID_NUMBER,
                        "this person is already registered in another household "
                        f"({ref}); a person is in one household at a time",
                    )
                failures.add(p.parsed.failure())

    async def _existing(self, session: AsyncSession, refs: Sequence[str]) -> dict[str, tuple]:
        rows = await session.execute(
            text(
                "SELECT h.external_ref, h.region_code, h.poverty_state, h.assistance_type, "
                "h.monitoring_category, h.causes, h.primary_cause, "
                "array_agg(coalesce(m.id_number_hash, m.name) || '|' || m.relation) AS members "
                "FROM households h LEFT JOIN members m ON m.household_id = h.id "
                "WHERE h.external_ref = ANY(:refs) GROUP BY h.id"
            ),
            {"refs": list(refs)},
        )
        return {
            r.external_ref: (
                r.region_code,
                r.poverty_state,
                r.assistance_type,
                r.monitoring_category,
                tuple(sorted(r.causes)),
                r.primary_cause,
                tuple(sorted(m for m in r.members if m is not None)),
            )
            for r in rows
        }

    async def _taken(self, session: AsyncSession, hashes: list[str]) -> dict[str, str]:
        if not hashes:
            return {}
        rows = await session.execute(
            text(
                "SELECT m.id_number_hash, coalesce(h.external_ref, h.id::text) AS ref "
                "FROM members m JOIN households h ON h.id = m.household_id "
                "WHERE m.id_number_hash = ANY(:hashes)"
            ),
            {"hashes": hashes},
        )
        return {r.id_number_hash: r.ref for r in rows}

    async def _audit_batch(self, sessions, report: ImportReport, actor: Principal, region) -> None:
        """One entry for the import itself (file, counts); each household has its own too."""
        async with sessions() as session, atomic(session):
            await audit.record(
                session,
                actor=actor,
                action="import.completed" if report.interrupted is None else "import.interrupted",
                entity="import",
                entity_id=report.import_id,
                region_code=region or actor.region,
                after=summary(report),
            )


_worker: ImportService | None = None


def _start_worker(service: ImportService) -> None:
    global _worker
    _worker = service


def _started() -> None:
    """A task that only makes the pool start its process."""


def _prepare_chunk(chunk: list[ParsedHousehold], work: Work) -> PreparedChunk:
    assert _worker is not None
    prepared = _worker.prepare_chunk(chunk, work)
    for p in prepared.households:
        p.parsed.request = None  # not needed any more: less to send back
    return prepared


def summary(report: ImportReport) -> dict[str, Any]:
    return {
        "file_name": report.file_name,
        "sha256": report.sha256,
        "persons": report.persons,
        "households": report.households,
        "imported": report.imported,
        "persons_imported": report.persons_imported,
        "skipped": report.skipped,
        "skipped_changed": report.skipped_changed,
        "failed": report.failed,
        "errors": report.errors_total,
        "interrupted": report.interrupted,
    }


def _finish(
    report: ImportReport, errors: FirstN[RowError], failures: FirstN[FailedHousehold]
) -> None:
    report.errors, report.errors_total = errors.items(), errors.total
    report.failed_households, report.failed = failures.items(), failures.total


def _differences(found: tuple, signature: tuple) -> list[str]:
    names = ["村代码", *(BY_FIELD[f].header for f in COMPARED_FIELDS), "家庭成员"]
    return [name for name, a, b in zip(names, found, signature, strict=True) if a != b]


def _sortable(value: Any) -> Any:
    return tuple(sorted(value)) if isinstance(value, list) else value


#: JSONB columns of the households table: COPY takes them as text.
_JSON_COLUMNS = frozenset({"income_items"})


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _is_unique_violation(exc: BaseException) -> bool:
    """asyncpg's own error (from COPY) or SQLAlchemy's wrapping of it (from a query)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(getattr(exc, "orig", None), Exception) and "UniqueViolation" in repr(exc.orig)


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]
