"""``GET /events/stream``: the live event stream (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from contracts.events import CATALOGUE
from gateway.stream.service import LiveStream, Subscription
from kit.auth import Principal, requires
from kit.errors import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/events", tags=["events"], responses=PROBLEM_RESPONSES)


def live_stream(request: Request) -> LiveStream:
    return LiveStream(CATALOGUE, request.app.state.runtime.settings)


async def checked_subscription(
    request: Request,
    actor: Annotated[Principal, requires("events:subscribe")],
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
) -> Subscription:
    # The header wins: a reconnecting EventSource sends its newest id there, while the
    # query parameter in the URL it reuses is the position of the first connection.
    if last_event_id_header is not None:
        token, field = last_event_id_header, "header.last-event-id"
    else:
        token, field = last_event_id, "query.last_event_id"
    subscription = live_stream(request).subscribe(
        actor, types=types, region=region, last_event_id=token, last_event_id_field=field
    )
    if not request.app.state.runtime.bus.is_connected:
        raise Problem(
            503,
            "Service unavailable",
            "the gateway is not connected to the event bus; try again shortly",
            code="NATS_UNAVAILABLE",
            headers={"Retry-After": "5"},
        )
    return subscription


@router.get(
    "/stream",
    response_class=EventSourceResponse,
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
""",
)
async def event_stream(
    request: Request,
    subscription: Annotated[Subscription, Depends(checked_subscription)],
    after_response: BackgroundTasks,
) -> AsyncIterable[ServerSentEvent]:
    bus = request.app.state.runtime.bus
    async for event in live_stream(request).events(subscription, bus, after_response.add_task):
        yield event
