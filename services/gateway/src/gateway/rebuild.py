"""``python -m gateway.rebuild``: drop the gateway's projections and replay every stream.

The gateway owns no data: its household statuses, helpers' lists, regions and counters
are all rebuilt from the events. Safe while the gateway runs (its consumers wait).
"""

from __future__ import annotations

import asyncio
import sys
import time

from rich.console import Console

from gateway.config import GatewaySettings
from gateway.consumers import PROJECTIONS
from gateway.models import (
    counters_table,
    health_records_table,
    helper_households_table,
    household_table,
    regions_table,
)
from kit.bus import Bus
from kit.db import create_engine, create_sessionmaker
from kit.progress import progress_bar
from kit.replay import Progress as ProgressCallback
from kit.replay import ReplayReport, replay

PROJECTION_TABLES = [
    household_table,
    helper_households_table,
    regions_table,
    counters_table,
    health_records_table,
]


async def rebuild(
    settings: GatewaySettings, progress: ProgressCallback | None = None
) -> ReplayReport:
    engine = create_engine(settings.database_url)
    bus = Bus(settings.nats_url, name="gateway-rebuild")
    bus.start()
    try:
        await asyncio.wait_for(bus.wait_connected(), timeout=30)
        sessions = create_sessionmaker(engine)
        consumers = [
            definition.consumer("gateway", bus=bus, sessionmaker=sessions)
            # The projections only: a rebuild does not republish the public feed.
            for definition in PROJECTIONS
        ]
        return await replay(engine, consumers, PROJECTION_TABLES, progress=progress)
    finally:
        await bus.close()
        await engine.dispose()


def main() -> int:
    console = Console()
    started = time.perf_counter()
    with progress_bar(console) as bar:
        tasks: dict[str, int] = {}

        def show(stream: str, done: int, total: int) -> None:
            if stream not in tasks:
                tasks[stream] = bar.add_task(f"replaying {stream}", total=total)
            bar.update(tasks[stream], completed=done)

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
