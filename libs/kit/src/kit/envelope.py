"""CloudEvents 1.0 envelope (JSON structured mode) with the platform's extensions.

Extensions: ``region`` (12-digit code), ``sequence`` (per-aggregate version) and
``traceparent`` (W3C trace context of the write that caused the event).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from contracts.catalogue import EventSpec

_FORMAT = JSONFormat()
CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class Envelope:
    """A received or outgoing event, attributes already parsed."""

    id: str
    type: str
    source: str
    subject: str
    time: dt.datetime
    region: str
    sequence: int
    traceparent: str | None
    data: dict[str, Any]

    @property
    def aggregate_key(self) -> str:
        """Identifies the aggregate whose ``sequence`` orders this event."""
        return f"{self.source}#{self.subject}"

    def to_json(self) -> dict[str, Any]:
        """The structured-mode CloudEvent again (what :func:`parse` read), JSON-ready."""
        body: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "region": self.region,
            "sequence": self.sequence,
        }
        if self.traceparent:
            body["traceparent"] = self.traceparent
        return {**body, "data": self.data}


def build(
    spec: EventSpec,
    *,
    source: str,
    aggregate_id: str,
    region: str,
    sequence: int,
    data: BaseModel,
    traceparent: str | None = None,
    event_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, dict[str, Any]]:
    """Validate and return (event id, the JSON-ready envelope dict)."""
    if not isinstance(data, spec.payload):
        raise TypeError(f"{spec.name} expects {spec.payload.__name__}, got {type(data).__name__}")
    event_id = event_id or uuid.uuid4()
    attributes: dict[str, Any] = {
        "id": str(event_id),
        "source": source,
        "type": spec.type,
        "subject": aggregate_id,
        "time": dt.datetime.now(dt.UTC),
        "datacontenttype": "application/json",
        "region": region,
        "sequence": sequence,
    }
    if traceparent:
        attributes["traceparent"] = traceparent
    event = CloudEvent(attributes, data.model_dump(mode="json"))
    return event_id, json.loads(_FORMAT.write(event))


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def parse(raw: bytes) -> Envelope:
    """Parse a structured-mode CloudEvent; raises ValueError if it is not a valid one."""
    try:
        event = _FORMAT.read(None, raw)
        data = event.get_data()
        if isinstance(data, (bytes, str)):
            data = json.loads(data)
        if not isinstance(data, dict):
            raise ValueError("event data must be a JSON object")
        sequence = event.get_extension("sequence")
        region = event.get_extension("region")
        if sequence is None or region is None or event.get_subject() is None:
            raise ValueError("event lacks subject, region or sequence")
        return Envelope(
            id=event.get_id(),
            type=event.get_type(),
            source=event.get_source(),
            subject=event.get_subject(),
            time=event.get_time() or dt.datetime.now(dt.UTC),
            region=str(region),
            sequence=int(sequence),
            traceparent=event.get_extension("traceparent"),
            data=data,
        )
    except ValueError:
        raise
    except Exception as exc:  # the SDK raises several exception types for malformed input
        raise ValueError(f"not a valid CloudEvent: {exc}") from exc
