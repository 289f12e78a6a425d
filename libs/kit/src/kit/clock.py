"""The service's clock. Rules about dates (publicity windows, effective months, due dates)
ask it for "today" in the county's time zone, so tests can set the date they need."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from kit import problems


class Clock:
    """Wall-clock time; ``today`` is the local date of the configured time zone."""

    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().astimezone(self.zone).date()

    def up_to_today(self, day: dt.date | None, field: str) -> dt.date:
        """``day`` (today if None) for a thing that has happened: a later date is a 422
        on ``field``."""
        today = self.today()
        if day is None:
            return today
        if day > today:
            raise problems.FUTURE_DATE(f"{day} is after today ({today})", field=field)
        return day


class FixedClock(Clock):
    """A clock that stands still until moved (tests use it to step through windows)."""

    def __init__(self, moment: dt.datetime | dt.date, timezone: str = "Asia/Shanghai") -> None:
        super().__init__(timezone)
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time(9, 0), self.zone)
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)

    def set(self, day: dt.date) -> None:
        self.moment = dt.datetime.combine(day, dt.time(9, 0), self.zone)


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(get_clock)]
