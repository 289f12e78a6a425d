"""The event catalogue: every integration event, its payload, producer and consumers.

This is the shared contract between services (as in eShop's integration events). The
README's event table and ``openapi/events.md`` are generated from it; each consuming
service's tests check that it handles exactly the events listed for it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from contracts.region import subject_tokens

TYPE_PREFIX = "cn.jingzhun."


@dataclass(frozen=True)
class EventSpec:
    """One event type. ``name`` is ``<service>.<aggregate>.<event>``."""

    name: str
    version: int
    payload: type[BaseModel]
    aggregate: str
    description: str
    consumers: tuple[str, ...] = field(default=())

    @property
    def producer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def type(self) -> str:
        """CloudEvents ``type``: ``cn.jingzhun.registry.household.created.v1``."""
        return f"{TYPE_PREFIX}{self.name}.v{self.version}"

    def subject(self, region_code: str) -> str:
        """NATS subject: ``registry.household.created.62.29.24.100.201``."""
        return ".".join([self.name, *subject_tokens(region_code)])


class Catalogue:
    def __init__(self, specs: list[EventSpec]) -> None:
        self.specs = tuple(specs)
        self._by_type = {s.type: s for s in specs}
        if len(self._by_type) != len(specs):
            raise ValueError("duplicate event type in catalogue")

    def by_type(self, event_type: str) -> EventSpec | None:
        return self._by_type.get(event_type)

    def produced_by(self, service: str) -> list[EventSpec]:
        return [s for s in self.specs if s.producer == service]

    def consumed_by(self, service: str) -> list[EventSpec]:
        return [s for s in self.specs if service in s.consumers]
