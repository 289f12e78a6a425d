"""The registry's subscriptions to other departments' events (one durable consumer per
producing service), all handled by the monitoring rules. Which events is read from the
catalogue: an event listing ``registry`` among its consumers is handled here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CATALOGUE
from kit.app import ConsumerDefinition
from kit.envelope import Envelope
from registry.monitoring.service import MonitoringService


def monitoring_consumers(service: Callable[[], MonitoringService]) -> list[ConsumerDefinition]:
    """``service`` builds the MonitoringService when an event arrives (so a test's clock,
    set on the app after it was built, is the one used)."""

    async def handle(session: AsyncSession, event: Envelope) -> str | None:
        return await service().on_event(session, event)

    handlers: dict[str, dict] = {}
    for spec in CATALOGUE.consumed_by("registry"):
        handlers.setdefault(spec.producer, {})[spec.name] = handle
    return [
        ConsumerDefinition(source_service=s, handlers=h, catalogue=CATALOGUE)
        for s, h in handlers.items()
    ]
