"""The progress bar of long command-line jobs (imports, demo loading, rebuilds)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Things done per second, e.g. ``2,350 events/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = f"{speed:,.0f}" if speed else "–"
        return Text(f"{shown} {self.unit}/s", style="progress.data.speed")


def progress_bar(
    console: Console | None = None, *, disable: bool = False, unit: str | None = None
) -> Progress:
    """Description, bar, done/total and elapsed time; with ``unit``, the rate and the time
    left too."""
    rate = [RateColumn(unit), TimeRemainingColumn()] if unit else []
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        *rate,
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


class Step:
    """``async with Step("students", total) as advance:`` a progress bar of one step of a
    long job, yielding the function that advances it by one."""

    def __init__(self, description: str, total: int, *, disable: bool = False) -> None:
        self.bar = progress_bar(disable=disable)
        self.task = self.bar.add_task(description, total=total)

    async def __aenter__(self) -> Callable[[], None]:
        self.bar.start()
        return lambda: self.bar.advance(self.task)

    async def __aexit__(self, *exc: object) -> None:
        self.bar.stop()
