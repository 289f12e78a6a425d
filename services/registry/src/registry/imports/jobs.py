"""Imports running in the background (POST /imports → 202, GET /imports/{id}), and the
limit on imports running at once for a county (background or not).

The job row is the progress bar and, once the import has ended, its report. The import
itself is the same as a synchronous one: chunks commit as they go, so a job cut short (the
service stopped) leaves whole households only, and running the same file again completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from contracts.enums import RegionLevel
from contracts.region import region_level
from kit.auth import Principal
from kit.db import atomic
from kit.problems import Problem
from registry import errors
from registry.imports.service import ImportInterrupted, ImportReport, ImportService, summary
from registry.models import ImportJob

log = logging.getLogger(__name__)


#: Above the county code in the key of an import's advisory lock: no other lock's key
#: (small integers, hashtext()) comes near it.
_LOCK_SPACE = 0x494D << 48
#: Retry-After of an import refused because another is running.
RETRY_SECONDS = 60
_ABOVE_COUNTY = {RegionLevel.province, RegionLevel.city}


class ImportSlot:
    """One of the imports a county may run at once: a PostgreSQL advisory lock, held on a
    connection of its own for the whole import. Every replica sees it, and a replica that
    dies (an import killed for its memory, say) frees it with its connection."""

    def __init__(self, connection: AsyncConnection, key: int) -> None:
        self._connection: AsyncConnection | None = connection
        self._key = key

    @classmethod
    async def take(cls, engine: AsyncEngine, region: str, limit: int) -> ImportSlot:
        """A free slot of the county of ``region`` (the region itself above county level),
        or 429 IMPORT_BUSY with Retry-After."""
        county = region[:6] + "000000" if region_level(region) not in _ABOVE_COUNTY else region
        connection = await engine.connect()
        try:
            # No transaction left open for the whole import (it would hold back vacuum).
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for slot in range(limit):
                key = _LOCK_SPACE + int(county) * 1000 + slot
                taken = await connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                )
                if taken.scalar_one():
                    return cls(connection, key)
        except BaseException:
            await connection.close()
            raise
        await connection.close()
        running = "an import" if limit == 1 else f"{limit} imports"
        raise errors.IMPORT_BUSY(
            f"{running} for {county} {'is' if limit == 1 else 'are'} running already; the limit "
            f"is {limit} at a time per county (REGISTRY_IMPORT_MAX_CONCURRENT): try again when "
            f"it has ended (retry in {RETRY_SECONDS} s; GET /imports/{{id}} shows a background "
            "import's progress)",
            headers={"Retry-After": str(RETRY_SECONDS)},
        )

    async def release(self) -> None:
        """Free the slot (once; again is nothing)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        finally:
            await connection.close()


def report_json(report: ImportReport) -> dict[str, Any]:
    """The report as stored on the job: counts, the first error rows and failed households."""
    return {
        **summary(report),
        "import_id": str(report.import_id),
        "errors_total": report.errors_total,
        "errors": [dataclasses.asdict(e) for e in report.errors],
        "failed_households": [dataclasses.asdict(f) for f in report.failed_households],
    }


class ImportJobs:
    """The background imports of one app (tasks are kept here so they are not collected)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    async def start(
        self,
        sessions: async_sessionmaker[AsyncSession],
        service: ImportService,
        content: bytes,
        file_name: str,
        sha256: str,
        actor: Principal,
        region: str,
        slot: ImportSlot,
    ) -> ImportJob:
        """Start the import; the job releases ``slot`` when it ends."""
        job = ImportJob(
            id=uuid.uuid4(),
            region_code=region,
            actor=actor.subject,
            file_name=file_name[:200],
            sha256=sha256,
        )
        async with sessions() as session:
            async with atomic(session):
                session.add(job)
            await session.refresh(job)
        task = asyncio.create_task(
            self._run(sessions, service, content, job, actor, region, slot),
            name=f"import-{job.id}",
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def _run(self, sessions, service, content, job, actor, region, slot) -> None:
        try:
            status, report = await self._import(sessions, service, content, job, actor, region)
        except asyncio.CancelledError:
            # The service is stopping: say so if the database still answers.
            await _quietly(slot.release())
            await _quietly(
                self._update(
                    sessions,
                    job.id,
                    status="interrupted",
                    report={"interrupted": "the service stopped; run the same file again"},
                )
            )
            raise
        except Exception as exc:  # noqa: BLE001 - a bad file: the job says why
            log.exception("import job %s failed", job.id)
            detail = getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"
            status, report = "interrupted", {"interrupted": detail}
        # Free before saying the job has ended: whoever sees that may start the next import.
        await _quietly(slot.release())
        await self._update(sessions, job.id, status=status, report=report)

    async def _import(self, sessions, service, content, job, actor, region) -> tuple[str, dict]:
        """The import's outcome: (status, report)."""

        async def progress(done: int, total: int) -> None:
            await self._update(sessions, job.id, persons_done=done, persons_total=total)

        try:
            report = await service.run(
                sessions,
                content,
                job.file_name,
                actor,
                region=region,
                progress=progress,
                import_id=job.id,
            )
        except ImportInterrupted as exc:
            return "interrupted", report_json(exc.report)
        except Problem as exc:  # the file is refused (too many rows, unreadable): nothing written
            return "refused", {"refused": exc.detail or exc.title, "code": exc.code}
        return "completed", report_json(report)

    @staticmethod
    async def _update(sessions, job_id: uuid.UUID, **values: Any) -> None:
        async with sessions() as session, atomic(session):
            await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def _quietly(step: Awaitable[Any]) -> None:
    """Run a clean-up step to its end even if the task is being cancelled; a failure (the
    database gone) is no news to anyone."""
    with contextlib.suppress(Exception):
        await asyncio.shield(step)
