"""The SSE response: our own streaming response, so a client that leaves is a normal end.

FastAPI's generator-based SSE wraps the generator in a task group whose keep-alive task
raises ``BrokenResourceError`` when the client disconnects while events are flowing (a
replay): an unhandled traceback in the log for an ordinary event. This response streams
the generator itself, treats a disconnect as the end of the stream, and always closes the
generator, so the relay's consumers are deleted whichever way the stream ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi.encoders import jsonable_encoder
from fastapi.sse import ServerSentEvent, format_sse_event
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)


def encode(event: ServerSentEvent) -> bytes:
    """The wire form of one event (``raw_data`` as is, ``data`` as JSON)."""
    if event.raw_data is not None:
        data: str | None = event.raw_data
    elif event.data is not None:
        data = json.dumps(jsonable_encoder(event.data), ensure_ascii=False)
    else:
        data = None
    return format_sse_event(
        data_str=data, event=event.event, id=event.id, retry=event.retry, comment=event.comment
    )


async def _encoded(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` from an async iterator of :class:`ServerSentEvent` (not a
    subclass of FastAPI's ``EventSourceResponse``, which would bring its wrapper back).

    ``on_close`` runs once the response has ended, however it ended (client gone, server
    stopping, stream finished)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[ServerSentEvent],
        *,
        on_close: Callable[[], None] | None = None,
        description: str = "live stream",
    ) -> None:
        self._events = events
        self._on_close = on_close
        self._description = description
        super().__init__(
            _encoded(events),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except (ClientDisconnect, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # The client left while an event was being sent: the stream ends here.
            log.info("%s: client disconnected", self._description)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    # Runs the generators' ``finally`` (the relay deletes its consumers)
                    # now, not whenever the collector finds them.
                    await self.body_iterator.aclose()  # type: ignore[attr-defined]
                    await self._events.aclose()  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 - the stream is over either way
                    log.warning("%s: closing failed: %s", self._description, exc)
                finally:
                    if self._on_close is not None:
                        self._on_close()
