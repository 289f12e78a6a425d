"""``python -m gateway.rebuild``: rebuild the gateway's projections from every stream.

The gateway owns no data: its household statuses, helpers' lists, regions and counters
are all rebuilt from the events, beside the live ones, then switched in at once
(:func:`kit.replay.replay`). Safe while the gateway runs: it serves the old projection,
and its consumers keep it current, until the switch.
"""

from __future__ import annotations

import asyncio
import sys
import time

from rich.console import Console
from rich.progress import TaskID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import GatewaySettings
from gateway.consumers import PROJECTIONS
from gateway.models import (
    counters_table,
    education_records_table,
    health_records_table,
    helper_households_table,
    household_table,
    regions_table,
)
from gateway.status.cache import every_household_changed
from kit.bus import Bus
from kit.consumer import EventConsumer
from kit.db import create_engine
from kit.progress import progress_bar
from kit.replay import Progress as ProgressCallback
from kit.replay import ReplayReport, replay

PROJECTION_TABLES = [
    household_table,
    helper_households_table,
    regions_table,
    counters_table,
    health_records_table,
    education_records_table,
]


async def rebuild(
    settings: GatewaySettings, progress: ProgressCallback | None = None
) -> ReplayReport:
    engine = create_engine(settings.database_url)
    bus = Bus(settings.nats_url, name="gateway-rebuild")
    bus.start()

    def projections(sessions: async_sessionmaker[AsyncSession]) -> list[EventConsumer]:
        return [
            definition.consumer("gateway", bus=bus, sessionmaker=sessions)
            # The projections only: a rebuild does not republish the public feed.
            for definition in PROJECTIONS
        ]

    try:
        await asyncio.wait_for(bus.wait_connected(), timeout=30)
        return await replay(
            engine,
            projections,
            PROJECTION_TABLES,
            progress=progress,
            at_switch=every_household_changed,
        )
    finally:
        await bus.close()
        await engine.dispose()


def main() -> int:
    console = Console()
    started = time.perf_counter()
    with progress_bar(console, unit="events") as bar:
        steps: dict[str, TaskID] = {}  # a line per step: replay, catch-ups, switch

        def show(step: str, done: int, total: int) -> None:
            if step not in steps:
                steps[step] = bar.add_task(step, total=total)
            bar.update(steps[step], completed=done, total=total)

        report = asyncio.run(rebuild(GatewaySettings(), show))
    elapsed = time.perf_counter() - started
    console.print(
        f"rebuilt from {report.events} events in {elapsed:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))
    )
    if report.unreadable:
        console.print(f"[yellow]{report.unreadable} unreadable events skipped[/yellow]")
    if report.failed:
        console.print(f"[red]{len(report.failed)} events failed[/red]: {report.failed[:10]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
