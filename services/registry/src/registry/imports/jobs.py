"""Imports running in the background (POST /imports → 202, GET /imports/{id}).

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
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.auth import Principal
from registry.imports.service import ImportInterrupted, ImportReport, ImportService, summary
from registry.models import ImportJob

log = logging.getLogger(__name__)


def report_json(report: ImportReport, max_errors: int) -> dict[str, Any]:
    """The report as stored on the job: counts, and the first ``max_errors`` error rows."""
    return {
        **summary(report),
        "import_id": str(report.import_id),
        "errors_total": len(report.errors),
        "errors": [dataclasses.asdict(e) for e in report.errors[:max_errors]],
    }


class ImportJobs:
    """The background imports of one app (tasks are kept here so they are not collected)."""

    def __init__(self, *, max_errors: int) -> None:
        self.max_errors = max_errors
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
    ) -> ImportJob:
        job = ImportJob(
            id=uuid.uuid4(),
            region_code=region,
            actor=actor.subject,
            file_name=file_name[:200],
            sha256=sha256,
        )
        async with sessions() as session:
            session.add(job)
            await session.commit()
            await session.refresh(job)
        task = asyncio.create_task(
            self._run(sessions, service, content, job, actor, region), name=f"import-{job.id}"
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def _run(self, sessions, service, content, job, actor, region) -> None:
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
            await self._update(
                sessions, job.id, status="completed", report=report_json(report, self.max_errors)
            )
        except ImportInterrupted as exc:
            await self._update(
                sessions,
                job.id,
                status="interrupted",
                report=report_json(exc.report, self.max_errors),
            )
        except asyncio.CancelledError:
            # The service is stopping: say so if the database still answers.
            with contextlib.suppress(Exception):
                await asyncio.shield(
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
            await self._update(
                sessions, job.id, status="interrupted", report={"interrupted": detail}
            )

    @staticmethod
    async def _update(sessions, job_id: uuid.UUID, **values: Any) -> None:
        async with sessions() as session:
            await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
            await session.commit()
