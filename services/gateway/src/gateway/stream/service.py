"""The live stream's rules: who reads what, and the SSE events sent.

:meth:`LiveStream.subscribe` checks everything before the response starts (a bad request
gets a problem, not a broken stream); :meth:`LiveStream.events` then relays.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats.errors
from fastapi.sse import ServerSentEvent
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.catalogue import Catalogue
from contracts.region import is_within, validate_region_code
from gateway import errors
from gateway.config import GatewaySettings
from gateway.stream import plan
from gateway.stream.redaction import redact_event
from gateway.stream.relay import EventRelay, Relayed, RelayInterrupted
from kit.auth import Principal, region_in_scope
from kit.bus import Bus

log = logging.getLogger(__name__)

OPENED = "stream.opened"
INTERRUPTED = "stream.interrupted"
RETRY_MILLISECONDS = 3000  # how soon an EventSource reconnects after the stream ends


@dataclass(frozen=True)
class Subscription:
    """A checked request for the live stream."""

    caller: str
    region: str
    types: list[str] | None
    sources: list[plan.StreamSource]
    resume: dict[str, int] | None
    redacted: bool
    #: Where the resume token came from (``header.last-event-id``), for problems about it.
    resume_field: str = "header.last-event-id"
    #: The token's expiry (epoch seconds): the stream ends then, as a request would fail.
    expires_at: float | None = None


def needs_redaction(principal: Principal) -> bool:
    """Personal data only for callers allowed to see it (ARCHITECTURE §6: ``pii:read``).
    The scope decides, not the role name, so any role an identity provider invents without
    ``pii:read`` is covered; a ``dashboard`` role is redacted even if it was granted the
    scope, because a dashboard is a screen others look at (DOMAIN §1.7)."""
    return not principal.has("pii:read") or "dashboard" in principal.roles


class LiveStream:
    def __init__(self, catalogue: Catalogue, settings: GatewaySettings) -> None:
        self.catalogue = catalogue
        self.settings = settings

    def subscribe(
        self,
        principal: Principal,
        *,
        types: list[str] | None,
        region: str | None,
        last_event_id: str | None,
        last_event_id_field: str,
    ) -> Subscription:
        try:
            names = plan.parse_types(types, self.catalogue)
            resume = (
                plan.parse_positions(last_event_id, last_event_id_field, self.catalogue)
                if last_event_id and last_event_id.strip()
                else None
            )
        except plan.PlanError as exc:
            raise errors.INVALID_SUBSCRIPTION(exc.reason, field=exc.field) from None
        code = principal.region if region is None else region
        try:
            validate_region_code(code)
        except ValueError as exc:
            raise errors.INVALID_REGION(str(exc)) from None
        region_in_scope(principal, code, field="query.region")
        return Subscription(
            caller=principal.subject,
            region=code,
            types=names,
            sources=plan.sources(names, code, self.catalogue),
            resume=resume,
            redacted=needs_redaction(principal),
            resume_field=last_event_id_field,
            expires_at=_expiry(principal),
        )

    async def check_resume(self, subscription: Subscription, js: JetStreamContext) -> None:
        """Refuse a resume position the stream cannot honour, before the response starts:
        one past the stream's end (a token of another installation, or a stream that was
        reset) would silently deliver nothing, and one older than the replay window would
        replay without bound."""
        try:
            await self._check_resume(subscription, js)
        except (nats.errors.Error, TimeoutError, ConnectionError) as exc:
            log.warning("live stream: checking a resume position failed: %s", exc)
            raise errors.NATS_UNAVAILABLE(
                "the event bus did not answer; try again shortly", headers={"Retry-After": "5"}
            ) from None

    async def _check_resume(self, subscription: Subscription, js: JetStreamContext) -> None:
        window = dt.timedelta(hours=self.settings.stream_replay_window_hours)
        for stream, position in (subscription.resume or {}).items():
            try:
                last = (await js.stream_info(stream)).state.last_seq
            except NotFoundError:
                last = 0
            if position > last:
                raise errors.RESUME_BEYOND_END(
                    f"{stream}:{position} was never sent: stream {stream} ends at {last}. "
                    "Connect without Last-Event-ID to receive new events.",
                    field=subscription.resume_field,
                )
            if position == last:
                continue  # nothing to replay
            # The first event the client has not seen (the next one present, should some
            # have been deleted): its age decides.
            try:
                first_missed = await js.get_msg(stream, seq=position + 1, subject=">", next=True)
                published = first_missed.time
            except NotFoundError:
                published = None
            if published is None or dt.datetime.now(dt.UTC) - published > window:
                hours = self.settings.stream_replay_window_hours
                span = f"{hours:g} h" if hours >= 1 else f"{round(hours * 3600, 3):g} s"
                raise errors.RESUME_TOO_OLD(
                    f"{stream}:{position} is older than the replay window: a stream resumes "
                    f"at most {span} back. Connect without Last-Event-ID to receive new "
                    "events, and read the current state from the status and statistics "
                    "endpoints.",
                    field=subscription.resume_field,
                )

    async def events(self, subscription: Subscription, bus: Bus) -> AsyncIterator[ServerSentEvent]:
        """The SSE events of a subscription until the client leaves or the relay stops;
        the response closes this generator however it ends (its ``finally`` deletes the
        relay's consumers)."""
        relay = EventRelay(
            nc=bus.client,
            js=bus.js,
            sources=subscription.sources,
            resume=subscription.resume,
            queue_size=self.settings.stream_queue_size,
            stall_seconds=self.settings.stream_stall_seconds,
            consumer_inactive_seconds=self.settings.stream_consumer_inactive_seconds,
            description=f"gateway live stream for {subscription.caller}"[:200],
        )
        try:
            await relay.open()
        except Exception as exc:  # noqa: BLE001 - NATS failed after the checks: say so, end
            log.warning("live stream could not start: %s", exc)
            yield ServerSentEvent(
                event=INTERRUPTED,
                data={"code": "NATS_UNAVAILABLE", "detail": "the event bus is not reachable"},
                retry=RETRY_MILLISECONDS,
            )
            return
        try:
            token = plan.format_positions(relay.positions)
            yield ServerSentEvent(
                event=OPENED,
                id=token,
                retry=RETRY_MILLISECONDS,
                data={
                    "region": subscription.region,
                    "types": subscription.types,
                    "streams": relay.positions,
                    "redacted": subscription.redacted,
                },
            )
            heartbeat = self.settings.stream_heartbeat_seconds
            while True:
                wait = heartbeat
                if subscription.expires_at is not None:
                    left = subscription.expires_at - time.time()
                    if left <= 0:
                        yield self._interrupted(
                            relay, "TOKEN_EXPIRED", "the token expired; reconnect with a new one"
                        )
                        return
                    wait = min(wait, left)
                try:
                    item = await relay.next(wait)
                except RelayInterrupted as exc:
                    yield self._interrupted(relay, exc.code, exc.detail)
                    return
                if item is None:
                    # An SSE comment: ignored by clients, keeps proxies from closing the line.
                    yield ServerSentEvent(comment="heartbeat")
                    try:
                        await relay.attach_missing()
                    except Exception as exc:  # noqa: BLE001 - try again at the next heartbeat
                        log.info("live stream: attaching a new stream failed: %s", exc)
                    continue
                sent = self._event(item, subscription, plan.format_positions(relay.positions))
                if sent is not None:
                    yield sent
        finally:
            await relay.close()

    @staticmethod
    def _interrupted(relay: EventRelay, code: str, detail: str) -> ServerSentEvent:
        """The last event before the server ends the stream: why, and where to resume."""
        token = plan.format_positions(relay.positions)
        return ServerSentEvent(
            event=INTERRUPTED,
            id=token,
            data={"code": code, "detail": detail, "resume_from": token},
        )

    def _event(
        self, item: Relayed, subscription: Subscription, token: str
    ) -> ServerSentEvent | None:
        """The SSE event for one relayed event; None for one that must not be sent."""
        try:
            envelope = json.loads(item.data)
            if not isinstance(envelope, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            log.warning("live stream skips a malformed event at %s:%s", item.stream, item.sequence)
            return None
        region = envelope.get("region")
        # The subject filter already scoped the stream; a lying subject must not leak.
        if not isinstance(region, str) or not region.isdigit() or len(region) != 12:
            return None
        if not is_within(region, subscription.region):
            log.warning("event %s:%s outside its subject's region", item.stream, item.sequence)
            return None
        name = ".".join(item.subject.split(".")[:3])
        if subscription.redacted:
            body = json.dumps(redact_event(envelope), ensure_ascii=False, separators=(",", ":"))
        else:
            body = item.data.decode()
        return ServerSentEvent(event=name, raw_data=body, id=token)


def _expiry(principal: Principal) -> float | None:
    exp = principal.claims.get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None
