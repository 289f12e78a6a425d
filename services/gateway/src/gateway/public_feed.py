"""The public event feed for dashboards on NATS (``contracts.public``).

Every event the gateway's consumers read is republished, redacted by the same function
as the live stream's (:func:`gateway.stream.redaction.redact_event`), on
``public.<region tokens>.<event name>``.

Through the gateway's outbox, in the consumer's transaction: the public copy is staged
exactly when the event is recorded as read, so a gateway that stops between the two
can lose neither (a best-effort publish after the commit would drop the event for good,
since its source is acknowledged and its redelivery is a duplicate). The relay publishes
it into the ``PUBLIC`` stream with the source event's id as Nats-Msg-Id, so a retried
publish is dropped by the broker, and dashboards subscribed to the subjects receive it as
any core NATS subscriber does. A projection rebuild does not republish (it reads the
streams without this hook).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from nats.js.api import StreamConfig
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CATALOGUE
from contracts.public import PUBLIC_PREFIX, PUBLIC_STREAM, public_subject
from contracts.region import validate_region_code
from gateway.models import outbox_table
from gateway.stream.redaction import redact_event
from kit.bus import stream_config
from kit.envelope import Envelope
from kit.outbox import Forwarded, Outbox

log = logging.getLogger(__name__)

#: The feed is derived (the sources keep every event), so its stream keeps a week.
RETENTION = dt.timedelta(days=7)


def public_stream() -> StreamConfig:
    config = stream_config(PUBLIC_STREAM, [f"{PUBLIC_PREFIX}.>"])
    config.max_age = RETENTION.total_seconds()
    return config


OUTBOX = Outbox(outbox_table, service="gateway", stream=public_stream)


def public_event(event: Envelope) -> dict[str, Any]:
    """The public copy of an event: the CloudEvent without personal data."""
    return redact_event(event.to_json())


def _message_id(event: Envelope) -> uuid.UUID:
    try:
        return uuid.UUID(event.id)
    except ValueError:  # another producer's id scheme: a stable id derived from it
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{event.source}#{event.id}")


async def publish_public(session: AsyncSession, events: list[Envelope]) -> None:
    """Stage the public copies of ``events`` in the consumer's transaction."""
    await OUTBOX.forward(session, [copy for event in events if (copy := _public_copy(event))])


def _public_copy(event: Envelope) -> Forwarded | None:
    spec = CATALOGUE.by_type(event.type)
    if spec is None:
        log.debug("public feed skips %s: not in the event catalogue", event.type)
        return None
    try:
        validate_region_code(event.region)
    except ValueError:
        log.warning("public feed skips event %s: bad region %r", event.id, event.region[:20])
        return None
    return Forwarded(
        event_id=_message_id(event),
        subject=public_subject(event.region, spec.name),
        body=public_event(event),
    )
