"""Who may call the gateway: its typed dependencies, declared once (ARCHITECTURE §6).

An endpoint names one of these as the type of its caller (``actor: StatusRead``); the
route audit reads the scopes from it. Which roles hold which scopes is deployment data
(services/roles.toml), not code."""

from __future__ import annotations

from typing import Annotated

from gateway.status.fast_path import SCOPE as STATUS_SCOPE
from kit.auth import Principal, requires

#: Reads a household's status (户情), without names unless it also holds ``pii:read``.
StatusRead = Annotated[Principal, requires(STATUS_SCOPE)]
#: Reads a region's statistics (统计).
StatsRead = Annotated[Principal, requires("stats:read")]
#: Subscribes to the live event stream.
EventsSubscribe = Annotated[Principal, requires("events:subscribe")]
