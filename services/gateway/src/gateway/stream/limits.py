"""Live stream limits: concurrent connections per principal.

Counted per gateway process (the stream's consumers live there too); behind N replicas
without sticky sessions a principal may hold up to N times the limit.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from gateway import errors

#: Seconds a refused client is told to wait: about how soon an EventSource gives up a
#: dead connection, so a slot it held is likely free by then.
RETRY_AFTER_SECONDS = 30


@dataclass
class Slot:
    """One open stream of a principal; :meth:`release` is idempotent."""

    slots: StreamSlots
    principal: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.slots.release(self.principal)


@dataclass
class StreamSlots:
    limit: int
    open: collections.Counter[str] = field(default_factory=collections.Counter)

    def acquire(self, principal: str) -> Slot:
        """A slot for one more stream of ``principal``, or a 429 problem."""
        if self.open[principal] >= self.limit:
            raise errors.TOO_MANY_STREAMS(
                f"at most {self.limit} live streams may be open at once per caller and "
                f"{self.open[principal]} are open for {principal[:100]!r}; close one (a single "
                "stream carries every type of event of a region) or retry later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.open[principal] += 1
        return Slot(self, principal)

    def release(self, principal: str) -> None:
        self.open[principal] -= 1
        if self.open[principal] <= 0:
            del self.open[principal]
