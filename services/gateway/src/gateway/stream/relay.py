"""The NATS part of the live stream: ephemeral pull consumers feeding one bounded queue.

One consumer per producing stream the subscription reads (filtered on the server by
subject, so events of other regions or types never reach the gateway), with no acks (a
live view, not a work queue) and an inactivity threshold, so a consumer left behind by a
crashed gateway disappears by itself.

Pulling instead of push delivery gives backpressure: a puller asks JetStream for a batch
only when it has handed the previous one to the queue, so a slow client makes its
consumer lag on the server (events are kept there anyway) while the gateway holds at most
``queue_size`` events and one batch per stream. A queue that stays full for
``stall_seconds`` ends the subscription (``SLOW_CLIENT``): the events already queued are
sent, then a final event with the resume position, so the client reconnects with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

import anyio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from gateway.stream.plan import StreamSource

log = logging.getLogger(__name__)

PULL_EXPIRES_SECONDS = 30.0  # one pull request waits this long for events, then is renewed
PULL_HEARTBEAT_SECONDS = 5.0  # JetStream proves a waiting pull is alive this often
CLEANUP_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Relayed:
    """One event as read from a stream: the raw CloudEvent JSON and where it was."""

    stream: str
    sequence: int
    subject: str
    data: bytes


class RelayInterrupted(Exception):
    """The subscription cannot go on; ``code`` says why (the client should resume)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


_STOP = object()


class EventRelay:
    """Reads a subscription's streams into a bounded queue; use as an async context."""

    def __init__(
        self,
        *,
        nc: Client,
        js: JetStreamContext,
        sources: list[StreamSource],
        resume: dict[str, int] | None,
        queue_size: int,
        stall_seconds: float,
        consumer_inactive_seconds: float,
        description: str = "gateway live stream",
    ) -> None:
        self._nc = nc
        self._js = js
        self._sources = {s.stream: s for s in sources}
        self._resume = resume
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
        self._batch = max(1, min(64, queue_size))
        self._stall = stall_seconds
        self._inactive = consumer_inactive_seconds
        self._description = description
        #: Last stream sequence handed to the client, per stream (the resume token).
        self.positions: dict[str, int] = {}
        self._consumers: dict[str, str] = {}  # stream → consumer name
        self._pullers: dict[str, asyncio.Task[None]] = {}
        self._missing: set[str] = set()
        self._failure: RelayInterrupted | None = None
        self._closing = False

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the consumers and start pulling; on failure nothing is left behind."""
        try:
            for stream in self._sources:
                await self._attach(stream, initial=True)
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> EventRelay:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the pullers and delete the consumers, even while being cancelled (a client
        that disconnects cancels the request): a consumer left behind would be a leak.
        Idempotent."""
        self._closing = True
        with anyio.CancelScope(shield=True):
            pullers = list(self._pullers.values())
            self._pullers.clear()
            for task in pullers:
                task.cancel()
            for stream, consumer in list(self._consumers.items()):
                with contextlib.suppress(Exception):  # gone already, or NATS away: it expires
                    await asyncio.wait_for(
                        self._js.delete_consumer(stream, consumer), CLEANUP_TIMEOUT_SECONDS
                    )
            self._consumers.clear()
            # Python 3.11's wait_for can swallow a cancellation that meets a message; such
            # a puller stops at its next message, which the deleted consumer sends at once.
            if pullers:
                await asyncio.wait(pullers, timeout=CLEANUP_TIMEOUT_SECONDS)

    @property
    def _stopped(self) -> bool:
        # Checked besides cancelling: Python 3.11's wait_for can swallow a cancellation.
        return self._closing or self._failure is not None

    @property
    def consumer_names(self) -> dict[str, str]:
        return dict(self._consumers)

    # --- reading --------------------------------------------------------------------------

    async def next(self, timeout: float) -> Relayed | None:
        """The next event, or None when ``timeout`` passes without one (time for a
        heartbeat). Raises :class:`RelayInterrupted` once queued events are drained."""
        if self._queue.empty() and self._failure is not None:
            raise self._failure
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if item is _STOP:
            assert self._failure is not None
            raise self._failure
        assert isinstance(item, Relayed)
        self.positions[item.stream] = item.sequence
        return item

    async def attach_missing(self) -> None:
        """Start reading streams that did not exist yet (a service that came online)."""
        for stream in sorted(self._missing):
            await self._attach(stream, initial=False)

    # --- consumers ------------------------------------------------------------------------

    async def _attach(self, stream: str, *, initial: bool) -> None:
        source = self._sources[stream]
        resume_at = (self._resume or {}).get(stream)
        try:
            if resume_at is not None:
                start = resume_at + 1
            elif initial:
                # "New events only", pinned to a sequence so the first token is exact.
                start = (await self._js.stream_info(stream)).state.last_seq + 1
            else:
                start = 1  # the stream appeared after we connected: all of it is new
            subjects = list(source.filter_subjects)
            config = ConsumerConfig(
                description=self._description,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                ack_policy=AckPolicy.NONE,
                filter_subject=subjects[0] if len(subjects) == 1 else None,
                filter_subjects=subjects if len(subjects) > 1 else None,
                inactive_threshold=self._inactive,
                mem_storage=True,
                num_replicas=1,
            )
            info = await self._js.add_consumer(stream, config)
        except NotFoundError:
            self._missing.add(stream)
            self.positions.setdefault(stream, resume_at or 0)
            return
        self._missing.discard(stream)
        self.positions[stream] = start - 1
        self._consumers[stream] = info.name
        self._pullers[stream] = asyncio.create_task(
            self._pull(stream, info.name), name=f"sse-pull-{stream}"
        )

    async def _pull(self, stream: str, consumer: str) -> None:
        inbox = self._nc.new_inbox()
        subscription = await self._nc.subscribe(inbox)
        request = json.dumps(
            {
                "batch": self._batch,
                "expires": int(PULL_EXPIRES_SECONDS * 1e9),
                "idle_heartbeat": int(PULL_HEARTBEAT_SECONDS * 1e9),
            }
        ).encode()
        api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        try:
            while not self._stopped:
                await self._nc.publish(api, request, reply=inbox)
                received = 0
                while received < self._batch:
                    try:
                        msg = await subscription.next_msg(timeout=3 * PULL_HEARTBEAT_SECONDS)
                    except NatsTimeoutError:
                        self._fail(
                            "NATS_UNAVAILABLE",
                            f"stream {stream} stopped answering; resume from the last id",
                        )
                        return
                    if self._stopped:
                        return
                    status = JetStreamContext.is_status_msg(msg)
                    if status == "100":
                        continue  # idle heartbeat
                    if status in ("404", "408"):
                        break  # the pull request expired: ask again
                    if status is not None:
                        description = (msg.headers or {}).get("Description", "")
                        if status == "409" and "deleted" in description.lower():
                            self._fail("CONSUMER_LOST", f"stream {stream}: {description}")
                            return
                        log.info("pull on %s answered %s %s", stream, status, description)
                        break
                    received += 1
                    if not await self._enqueue(_relayed(stream, msg)):
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection failed: end, client resumes
            log.warning("live stream pull on %s failed: %s", stream, exc)
            self._fail(
                "NATS_UNAVAILABLE", f"reading stream {stream} failed; resume from the last id"
            )
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _enqueue(self, item: Relayed) -> bool:
        try:
            await asyncio.wait_for(self._queue.put(item), self._stall)
        except TimeoutError:
            self._fail(
                "SLOW_CLIENT",
                f"the client read nothing for {self._stall:g}s while events waited; "
                "reconnect with the last id to continue",
            )
            return False
        return True

    def _fail(self, code: str, detail: str) -> None:
        if self._failure is not None:
            return
        self._failure = RelayInterrupted(code, detail)
        current = asyncio.current_task()
        for task in self._pullers.values():  # nothing more joins the queue after this
            if task is not current:
                task.cancel()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_STOP)


def _relayed(stream: str, msg: Msg) -> Relayed:
    return Relayed(
        stream=stream,
        sequence=msg.metadata.sequence.stream,
        subject=msg.subject,
        data=msg.data,
    )
