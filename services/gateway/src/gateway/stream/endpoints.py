"""``GET /events/stream``: the live event stream (Server-Sent Events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from contracts.events import CATALOGUE
from gateway import errors
from gateway.auth import EventsSubscribe
from gateway.stream.limits import Slot
from gateway.stream.response import EventStreamResponse
from gateway.stream.service import LiveStream, Subscription
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/events", tags=["events"], responses=PROBLEM_RESPONSES)


def live_stream(request: Request) -> LiveStream:
    return LiveStream(CATALOGUE, request.app.state.runtime.settings)


@dataclass(frozen=True)
class Admitted:
    """A checked subscription and the connection slot it holds."""

    subscription: Subscription
    slot: Slot


async def checked_subscription(
    request: Request,
    actor: EventsSubscribe,
    types: Annotated[
        list[str] | None,
        Query(
            description="Event names from the catalogue (事件类型), repeated or comma "
            "separated, e.g. `registry.household.state_changed`. Default: all.",
        ),
    ] = None,
    region: Annotated[
        str | None,
        Query(
            description="12-digit region code (区划代码) inside your own region; default: "
            "your region. Events of the whole subtree are sent.",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            description="Resume after this position (the `id` of the last event received), "
            "for clients that cannot send the `Last-Event-ID` header.",
        ),
    ] = None,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Resume after this position; sent by EventSource on reconnection.",
        ),
    ] = None,
) -> Admitted:
    # The header wins: a reconnecting EventSource sends its newest id there, while the
    # query parameter in the URL it reuses is the position of the first connection.
    if last_event_id_header is not None:
        token, field = last_event_id_header, "header.last-event-id"
    else:
        token, field = last_event_id, "query.last_event_id"
    stream = live_stream(request)
    subscription = stream.subscribe(
        actor, types=types, region=region, last_event_id=token, last_event_id_field=field
    )
    bus = request.app.state.runtime.bus
    if not bus.is_connected:
        raise errors.NATS_UNAVAILABLE(
            "the gateway is not connected to the event bus; try again shortly",
            headers={"Retry-After": "5"},
        )
    await stream.check_resume(subscription, bus.js)
    # Last: a refused request holds no slot.
    return Admitted(subscription, request.app.state.stream_slots.acquire(actor.subject))


@router.get(
    "/stream",
    response_class=EventStreamResponse,
    status_code=200,
    summary="Live events (Server-Sent Events) of your region, with resume",
    description="""
Events as they happen (实时事件推送), filtered on the server by region subtree and event type.

- `event:` the event name (`registry.household.state_changed`), `data:` the CloudEvent JSON,
  `id:` the resume position in every stream read (`REGISTRY:1042,HEALTH:0`).
- First event `stream.opened` (its `id` is the starting position); an SSE comment
  `: heartbeat` while nothing happens; a final `stream.interrupted` (code `SLOW_CLIENT`,
  `NATS_UNAVAILABLE` …) before the server ends the stream: reconnect with its `id`.
- Without `pii:read`, and always for the `dashboard` role, events carry no personal data
  (names, ID numbers even masked, birth dates, phones, income, free text); they carry
  `"redacted": true`.
- Limits: a few streams open at once per caller (429 `TOO_MANY_STREAMS`, with
  `Retry-After`); a resume position at most the replay window old (409 `RESUME_TOO_OLD`)
  and not beyond the stream's end (409 `RESUME_BEYOND_END`).
""",
    responses={
        200: {
            "description": "A stream of Server-Sent Events",
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "type": "object",
                        "properties": {
                            "event": {"type": "string"},
                            "data": {"type": "string"},
                            "id": {"type": "string"},
                            "retry": {"type": "integer", "minimum": 0},
                        },
                    }
                }
            },
        },
        429: {
            **PROBLEM_RESPONSES[409],
            "description": "Too many live streams open for this caller (Retry-After)",
        },
    },
)
async def event_stream(
    request: Request, admitted: Annotated[Admitted, Depends(checked_subscription)]
) -> EventStreamResponse:
    subscription = admitted.subscription
    bus = request.app.state.runtime.bus
    return EventStreamResponse(
        live_stream(request).events(subscription, bus),
        on_close=admitted.slot.release,
        description=f"live stream of {subscription.caller}"[:200],
    )
