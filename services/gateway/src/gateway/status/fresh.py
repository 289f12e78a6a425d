"""Fresh mode: ask the owning services now and merge their answers into the document.

Every configured service's ``GET /households/{id}/summary`` is asked concurrently with the
caller's own token (their region rules apply), each with its own timeout and all within
one deadline. A service that does not answer in time, fails or does not know the
household leaves its dimensions ``unknown`` with the reason: never a hang, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from typing import NamedTuple

import httpx
from fastapi import FastAPI
from pydantic import ValidationError

from contracts.status import DIMENSION_LABELS, OWNER, REASON_TEXT, HouseholdSummary, Reason
from gateway.status.dimensions import exit_readiness
from gateway.status.schemas import DimensionStatus, HouseholdStatusOut, SourceReport

#: Registry facts a fresh registry answer may refresh in the document.
REGISTRY_FACTS = ("poverty_state", "assistance_type", "monitoring_category")


class Answer(NamedTuple):
    summary: HouseholdSummary | None
    report: SourceReport


class SourceClients:
    """One pooled HTTP client for every owning service (lives as long as the app)."""

    def __init__(
        self, sources: dict[str, str], timeout_seconds: float, deadline_seconds: float
    ) -> None:
        self.sources = {name: url.rstrip("/") for name, url in sources.items()}
        self.timeout = timeout_seconds
        self.deadline = deadline_seconds
        self.client = httpx.AsyncClient(timeout=timeout_seconds)

    async def ask_all(self, household_id: uuid.UUID, authorization: str) -> dict[str, Answer]:
        """Each service's summary (or none) and how it answered."""
        tasks = {
            name: asyncio.create_task(self._ask(url, household_id, authorization))
            for name, url in self.sources.items()
        }
        if tasks:
            await asyncio.wait(tasks.values(), timeout=self.deadline)
        answers: dict[str, Answer] = {}
        for name, task in tasks.items():
            if task.done():
                answers[name] = task.result()
            else:
                task.cancel()
                answers[name] = Answer(
                    None,
                    SourceReport(
                        status="timeout",
                        detail=f"no answer within the {self.deadline:g} s deadline",
                    ),
                )
        return answers

    async def _ask(self, base_url: str, household_id: uuid.UUID, authorization: str) -> Answer:
        started = time.perf_counter()

        def report(status: str, detail: str | None) -> SourceReport:
            elapsed = round((time.perf_counter() - started) * 1000, 1)
            return SourceReport(status=status, detail=detail, elapsed_ms=elapsed)

        try:
            response = await self.client.get(
                f"{base_url}/households/{household_id}/summary",
                headers={"Authorization": authorization},
            )
        except httpx.TimeoutException:
            return Answer(None, report("timeout", f"no answer within {self.timeout:g} s"))
        except httpx.HTTPError as exc:
            return Answer(None, report("error", f"unreachable ({type(exc).__name__})"))
        if response.status_code == 404:
            return Answer(None, report("not_found", "the service does not know this household"))
        if response.status_code != 200:
            return Answer(None, report("error", f"answered HTTP {response.status_code}"))
        try:
            summary = HouseholdSummary.model_validate_json(response.content)
        except ValidationError:
            return Answer(
                None, report("error", "answered something that is not a household summary")
            )
        return Answer(summary, report("answered", None))

    async def close(self) -> None:
        await self.client.aclose()


def merge(
    document: HouseholdStatusOut,
    answers: dict[str, Answer],
    now: dt.datetime,
) -> HouseholdStatusOut:
    """The projection's document with every asked service's dimensions replaced by its
    answer now, or by ``unknown`` with the reason it gave none."""
    dimensions = dict(document.dimensions)
    sources: dict[str, SourceReport] = {}
    facts: dict[str, object] = {}
    for service, (summary, report) in answers.items():
        owned = [d for d, owner in OWNER.items() if owner == service]
        sources[service] = report
        if summary is not None:
            for dimension in owned:
                fact = summary.dimensions.get(dimension)
                if fact is None:
                    continue
                dimensions[dimension.value] = DimensionStatus(
                    status=fact.status,
                    label=DIMENSION_LABELS[dimension],
                    reason=fact.reason,
                    reason_text=REASON_TEXT.get(fact.reason or ""),
                    detail=fact.detail,
                    source=service,
                    as_of=fact.as_of,
                )
            if service == "registry":
                facts = {k: summary.facts[k] for k in REGISTRY_FACTS if k in summary.facts}
            continue
        for dimension in owned:
            dimensions[dimension.value] = DimensionStatus(
                status="unknown",
                label=DIMENSION_LABELS[dimension],
                reason=Reason.SOURCE_UNAVAILABLE,
                reason_text=f"{REASON_TEXT[Reason.SOURCE_UNAVAILABLE]}: {report.detail}",
                source=service,
                event_id=None,
                as_of=None,
            )
    as_dicts = {name: d.model_dump(mode="json") for name, d in dimensions.items()}
    alerts = {str(a.alert_id): a.model_dump() for a in document.risk_alerts}
    readiness, blocking, unknown = exit_readiness(as_dicts, alerts)
    return HouseholdStatusOut.model_validate(
        {
            **document.model_dump(),
            **facts,
            "dimensions": as_dicts,
            "exit_readiness": {"status": readiness, "blocking": blocking, "unknown": unknown},
            "as_of": now,
            "fresh": True,
            "sources": {name: report.model_dump() for name, report in sources.items()},
        }
    )


def source_clients(sources: dict[str, str], timeout: float, deadline: float):
    """The app resource holding the clients at ``app.state.sources``."""

    @contextlib.asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        app.state.sources = SourceClients(sources, timeout, deadline)
        try:
            yield
        finally:
            await app.state.sources.close()

    return resource
