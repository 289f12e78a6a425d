"""GET /events/stream: the live event stream (Server-Sent Events) from JetStream.

Streaming responses are read from a real uvicorn server on a free port: httpx's ASGI
transport buffers a whole response, which never ends for a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from gateway_testdata import OTHER_TOWNSHIP_VILLAGE, VILLAGE, envelope, publish_to, snapshot

from contracts.events import CATALOGUE
from contracts.events import health as health_events
from contracts.events import registry as events
from devstack.testing import eventually, serving
from gateway.config import GatewaySettings
from gateway.main import create_app
from gateway.stream import plan
from gateway.stream.redaction import redact, redact_event
from gateway.stream.relay import EventRelay, RelayInterrupted
from gateway.stream.service import needs_redaction
from kit.auth import Principal
from kit.bus import ensure_stream, service_stream

TOWNSHIP = VILLAGE[:9] + "000"  # 622924100000
COUNTY = VILLAGE[:6] + "000000"
HEAD = "马建国"
SPOUSE = "王秀英"
HELPER = "李卫东"
ID_MASKED = "622924********002X"
BIRTH = "1968-03-17"


# --- pure parts: subject filters, resume token, redaction --------------------------------


def test_region_filters_use_the_significant_prefix():
    assert plan.region_subject_suffix("620000000000") == "62.>"
    assert plan.region_subject_suffix(COUNTY) == "62.29.24.>"
    assert plan.region_subject_suffix(TOWNSHIP) == "62.29.24.100.>"
    assert plan.region_subject_suffix(VILLAGE) == "62.29.24.100.201"
    by_stream = {s.stream: s.filter_subjects for s in plan.sources(None, COUNTY, CATALOGUE)}
    assert by_stream["REGISTRY"] == ("registry.*.*.62.29.24.>",)
    assert set(by_stream) == {"REGISTRY", "HEALTH", "HOUSING", "EDUCATION", "LOW_INCOME"}
    chosen = plan.parse_types(
        ["registry.household.created,registry.member.added", "health.claim.settled"], CATALOGUE
    )
    assert {s.stream: s.filter_subjects for s in plan.sources(chosen, TOWNSHIP, CATALOGUE)} == {
        "REGISTRY": (
            "registry.household.created.62.29.24.100.>",
            "registry.member.added.62.29.24.100.>",
        ),
        "HEALTH": ("health.claim.settled.62.29.24.100.>",),
    }


def test_unknown_type_and_bad_token_name_the_field():
    with pytest.raises(plan.PlanError) as caught:
        plan.parse_types(["registry.household.created,registry.household.exploded"], CATALOGUE)
    assert caught.value.field == "query.types" and "registry.household.exploded" in str(
        caught.value
    )
    token = plan.format_positions({"REGISTRY": 1042, "HEALTH": 0})
    assert token == "REGISTRY:1042,HEALTH:0"
    assert plan.parse_positions(token, "f", CATALOGUE) == {"REGISTRY": 1042, "HEALTH": 0}
    for bad in [
        "REGISTRY",
        "REGISTRY:x",
        "REGISTRY:-1",
        "NOPE:3",
        "REGISTRY:1,REGISTRY:2",
        "a" * 2000,
    ]:
        with pytest.raises(plan.PlanError) as caught:
            plan.parse_positions(bad, "header.last-event-id", CATALOGUE)
        assert caught.value.field == "header.last-event-id"


def test_redaction_walks_any_shape():
    document = {
        "id": "e1",
        "household_id": "h1",
        "region_code": VILLAGE,
        "poverty_state": "registered",
        "head_name": HEAD,
        "per_capita_net_income": "2500.00",
        "members": [
            {"member_id": "m1", "name": HEAD, "id_number_masked": ID_MASKED, "birth_date": BIRTH},
            {"member_id": "m2", "name": SPOUSE, "labour_capacity": "able"},
        ],
        "nested": {"deeper": [{"contact": "13912345678", "other": "138****5678"}]},
        # Innocent keys, personal values: caught by the values' shape.
        "work_unit": "县扶贫办",
        "reason": "moved to her husband's village",
        "legacy": "62292419680317002X",
        "count": 3,
        "flag": True,
        "changed": ["poverty_state", "name"],
    }
    cleaned = redact(document)
    text = json.dumps(cleaned, ensure_ascii=False)
    for secret in [
        HEAD,
        SPOUSE,
        "002X",
        BIRTH,
        "2500.00",
        "13912345678",
        "5678",
        "县扶贫办",
        "husband",
    ]:
        assert secret not in text, secret
    assert cleaned["members"] == [
        {"member_id": "m1"},
        {"member_id": "m2", "labour_capacity": "able"},
    ]
    assert cleaned["nested"] == {"deeper": [{}]}
    assert cleaned["count"] == 3 and cleaned["flag"] is True
    assert cleaned["region_code"] == VILLAGE and cleaned["poverty_state"] == "registered"
    assert cleaned["changed"] == ["poverty_state", "name"]  # field names are codes, not data
    assert redact_event({"id": "x", "data": {}})["redacted"] is True


def test_who_gets_personal_data():
    def who(roles, scopes):
        return Principal("u", frozenset(scopes), COUNTY, roles=tuple(roles))

    assert needs_redaction(who(["dashboard"], ["events:subscribe"]))
    assert needs_redaction(who(["dashboard"], ["events:subscribe", "pii:read"]))  # a screen
    assert needs_redaction(who(["wall_display"], ["events:subscribe"]))  # any role without pii
    assert not needs_redaction(who(["county_admin"], ["events:subscribe", "pii:read"]))


# --- the live server ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def live_gateway(stack, **settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        GatewaySettings(
            **await stack.settings_for("gateway", consumer_max_deliver=2),
            stream_heartbeat_seconds=0.5,
            **settings,
        )
    )
    async with serving(app) as client:
        client.app = app  # for the tests that look at its open-stream count
        yield client


async def streams_closed(live) -> None:
    """Until the gateway has seen every client of ``live`` leave (it notices a moment
    after the client closed the connection)."""

    async def open_streams():
        return dict(live.app.state.stream_slots.open)

    await eventually(open_streams, until=lambda count: not count, timeout=10)


@pytest_asyncio.fixture
async def live(stack) -> AsyncIterator[httpx.AsyncClient]:
    async with live_gateway(stack) as client:
        yield client


class SSE:
    """Reads SSE frames from a streaming response; keeps the raw bytes it saw."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.raw = ""

    async def frame(self, timeout: float = 15) -> dict:
        return await asyncio.wait_for(self._frame(), timeout)

    async def _frame(self) -> dict:
        frame: dict = {}
        async for line in self._lines:
            self.raw += line + "\n"
            if line == "":
                if frame:
                    return frame
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                frame.setdefault("comments", []).append(value)
            elif field == "data":
                frame["data"] = frame["data"] + "\n" + value if "data" in frame else value
            else:
                frame[field] = value
        raise AssertionError("stream ended")

    async def event(self, timeout: float = 15) -> dict:
        """The next frame that is an event (heartbeat comments skipped)."""
        while True:
            frame = await self.frame(timeout)
            if "event" in frame:
                return frame


@contextlib.asynccontextmanager
async def stream(client, headers, **params) -> AsyncIterator[SSE]:
    async with client.stream("GET", "/events/stream", headers=headers, params=params) as r:
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        sse = SSE(r)
        opened = await sse.event()
        assert opened["event"] == "stream.opened"
        sse.opened = opened
        yield sse


def household_payload(hid, region, **overrides):
    members = [
        dict(
            member_id=uuid.uuid4(),
            name=HEAD,
            has_id_number=True,
            gender="male",
            birth_date=BIRTH,
            relation="head",
            labour_capacity="able",
        )
    ]
    return snapshot(hid, region_code=region, members=members, **overrides)


async def created(js, region, hid=None) -> tuple[uuid.UUID, dict]:
    hid = hid or uuid.uuid4()
    body = envelope(
        events.HOUSEHOLD_CREATED,
        subject=hid,
        sequence=1,
        region=region,
        payload=events.HouseholdCreated(**household_payload(hid, region)),
    )
    await publish_to(js, events.HOUSEHOLD_CREATED, region=region, body=body)
    return hid, body


def township_official(auth_keys, region=TOWNSHIP, pii=True):
    scopes = ("events:subscribe", "status:read") + (("pii:read",) if pii else ())
    return auth_keys.headers("township_official", region, scopes=scopes)


# --- auth and validation (answered before any streaming) ---------------------------------


async def test_auth_and_bad_requests_are_problems(client, auth_keys):
    url = "/events/stream"
    assert (await client.get(url)).status_code == 401
    cadre = await client.get(url, headers=auth_keys.headers("village_cadre", VILLAGE))
    assert cadre.status_code == 403 and cadre.json()["code"] == "MISSING_SCOPE"
    township = township_official(auth_keys)
    other = await client.get(url, headers=township, params={"region": OTHER_TOWNSHIP_VILLAGE})
    assert other.status_code == 403 and other.json()["code"] == "OUTSIDE_REGION"
    assert other.json()["errors"][0]["field"] == "query.region"
    up = await client.get(url, headers=township, params={"region": COUNTY})
    assert up.status_code == 403  # the county is wider than the caller's township
    cases = [
        ({"types": "registry.household.created,registry.nope.nothing"}, {}, "query.types"),
        ({"region": "62292410"}, {}, "query.region"),
        ({"last_event_id": "REGISTRY:abc"}, {}, "query.last_event_id"),
        ({}, {"Last-Event-ID": "HEALTH:1,MARS:2"}, "header.last-event-id"),
    ]
    for params, extra, field in cases:
        response = await client.get(url, headers={**township, **extra}, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


# --- streaming -----------------------------------------------------------------------------


async def test_type_and_region_filters(live, js, auth_keys):
    types = "registry.household.created,registry.member.added"
    async with (
        stream(live, township_official(auth_keys), types=types) as township,
        stream(live, auth_keys.headers("county_admin", COUNTY)) as county,
    ):
        # The township's filter is on the server: other townships never reach the gateway.
        consumers = await js.consumers_info("REGISTRY")
        filters = [c.config.filter_subjects or [c.config.filter_subject] for c in consumers]
        assert [
            "registry.household.created.62.29.24.100.>",
            "registry.member.added.62.29.24.100.>",
        ] in filters
        assert ["registry.*.*.62.29.24.>"] in filters

        hid_b, _ = await created(js, OTHER_TOWNSHIP_VILLAGE)  # another township
        hid_a, _ = await created(js, VILLAGE)
        updated = envelope(
            events.HOUSEHOLD_UPDATED,
            subject=hid_a,
            sequence=2,
            region=VILLAGE,
            payload=events.HouseholdUpdated(
                **household_payload(hid_a, VILLAGE, poverty_state="planned_exit"),
                changed=["poverty_state"],
            ),
        )
        await publish_to(
            js, events.HOUSEHOLD_UPDATED, region=VILLAGE, body=updated
        )  # type not chosen
        member = envelope(
            events.MEMBER_ADDED,
            subject=hid_a,
            sequence=3,
            region=VILLAGE,
            payload=member_added(hid_a),
        )
        await publish_to(js, events.MEMBER_ADDED, region=VILLAGE, body=member)

        seen = [await township.event(), await township.event()]
        assert [e["event"] for e in seen] == ["registry.household.created", "registry.member.added"]
        assert [json.loads(e["data"])["subject"] for e in seen] == [str(hid_a), str(hid_a)]
        everything = [await county.event() for _ in range(4)]
        assert [json.loads(e["data"])["subject"] for e in everything] == [
            str(hid_b),
            str(hid_a),
            str(hid_a),
            str(hid_a),
        ]
        assert everything[0]["event"] == "registry.household.created"
        # Nothing of township B was queued for the township stream: after a heartbeat
        # interval it is still silent.
        frame = await township.frame()
        assert "event" not in frame and frame["comments"] == ["heartbeat"]
        assert str(hid_b) not in township.raw


async def test_township_official_sees_no_other_township_by_status_either(live, js, auth_keys):
    hid_b, _ = await created(js, OTHER_TOWNSHIP_VILLAGE)
    url = f"/households/{hid_b}/status"
    county = auth_keys.headers("county_admin", COUNTY)
    await eventually(lambda: live.get(url, headers=county), until=lambda r: r.status_code == 200)
    township = township_official(auth_keys)
    assert (await live.get(url, headers=township)).status_code == 404
    other = township_official(auth_keys, OTHER_TOWNSHIP_VILLAGE[:9] + "000")
    assert (await live.get(url, headers=other)).status_code == 200


def member_added(hid):
    household = events.HouseholdSnapshot(**household_payload(hid, VILLAGE))
    spouse = events.MemberSnapshot(
        member_id=uuid.uuid4(),
        name=SPOUSE,
        has_id_number=True,
        gender="female",
        birth_date="1970-05-06",
        relation="spouse",
        labour_capacity="able",
    )
    return events.MemberAdded(
        household_id=hid, region_code=VILLAGE, member=spouse, household=household
    )


async def test_resume_from_last_event_id(live, js, auth_keys):
    headers = auth_keys.headers("county_admin", COUNTY)
    async with stream(live, headers, types="registry.household.created") as sse:
        start = sse.opened["id"]
        assert start.startswith("REGISTRY:")
        first = [await created(js, VILLAGE) for _ in range(2)]
        got = [await sse.event(), await sse.event()]
        assert [json.loads(e["data"])["id"] for e in got] == [b["id"] for _, b in first]
        after_first = got[0]["id"]
        assert after_first != start and got[1]["id"] != after_first
    # Disconnected; more events happen meanwhile.
    later = [await created(js, VILLAGE) for _ in range(2)]
    expected = [first[1][1]["id"]] + [b["id"] for _, b in later]
    resumed_headers = {**headers, "Last-Event-ID": after_first}
    async with stream(live, resumed_headers, types="registry.household.created") as sse:
        assert sse.opened["id"] == after_first
        got = [await sse.event() for _ in range(3)]
        assert [json.loads(e["data"])["id"] for e in got] == expected
        assert "event" not in await sse.frame()  # nothing more: no duplicate
    # The query parameter does the same for clients that cannot set headers.
    async with stream(
        live, headers, types="registry.household.created", last_event_id=start
    ) as sse:
        got = [await sse.event() for _ in range(4)]
        assert [json.loads(e["data"])["id"] for e in got] == [first[0][1]["id"], *expected]


async def test_heartbeat_and_disconnect_frees_the_consumer(live, js, auth_keys):
    before = (await js.stream_info("REGISTRY")).state.consumer_count  # the projection's own
    async with stream(live, auth_keys.headers("county_admin", COUNTY)) as sse:
        assert (await js.stream_info("REGISTRY")).state.consumer_count == before + 1
        frame = await sse.frame(timeout=5)
        assert frame == {"comments": ["heartbeat"]}
    await eventually(
        lambda: js.stream_info("REGISTRY"),
        until=lambda info: info.state.consumer_count == before,
        timeout=10,
    )


async def test_dashboard_stream_carries_no_personal_data(live, js, auth_keys):
    async with (
        stream(live, auth_keys.headers("dashboard", COUNTY)) as dashboard,
        stream(live, auth_keys.headers("county_admin", COUNTY)) as admin,
    ):
        assert json.loads(dashboard.opened["data"])["redacted"] is True
        assert json.loads(admin.opened["data"])["redacted"] is False
        hid, _ = await created(js, VILLAGE)
        await publish_to(
            js,
            events.MEMBER_ADDED,
            region=VILLAGE,
            body=envelope(
                events.MEMBER_ADDED,
                subject=hid,
                sequence=2,
                region=VILLAGE,
                payload=member_added(hid),
            ),
        )
        helper = events.HelperAssignmentEvent(
            assignment_id=uuid.uuid4(),
            household_id=hid,
            region_code=VILLAGE,
            helper_id=uuid.uuid4(),
            helper_name=HELPER,
            helper_rank="ordinary",
            work_unit="广河县扶贫办",
            role="primary",
            start_date=dt.date(2026, 1, 5),
        )
        await publish_to(
            js,
            events.HELPER_ASSIGNED,
            region=VILLAGE,
            body=envelope(
                events.HELPER_ASSIGNED, subject=hid, sequence=3, region=VILLAGE, payload=helper
            ),
        )
        adjusted = events.HouseholdAdjusted(
            **household_payload(hid, VILLAGE),
            kind="removal",
            effective_month=dt.date(2026, 2, 1),
            reason=f"{HEAD}家已迁出",
        )
        await publish_to(
            js,
            events.HOUSEHOLD_ADJUSTED,
            region=VILLAGE,
            body=envelope(
                events.HOUSEHOLD_ADJUSTED, subject=hid, sequence=4, region=VILLAGE, payload=adjusted
            ),
        )
        shown = [await dashboard.event() for _ in range(4)]
        full = [await admin.event() for _ in range(4)]

    names = ["registry.household.created", "registry.member.added", "registry.helper.assigned"]
    assert [e["event"] for e in shown][:3] == names
    for secret in [HEAD, SPOUSE, HELPER, "622924*", "****", "002X", BIRTH, "1970-05-06", "扶贫办"]:
        assert secret not in dashboard.raw, secret
    household = json.loads(shown[0]["data"])
    assert household["redacted"] is True and household["data"]["household_id"] == str(hid)
    assert household["data"]["region_code"] == VILLAGE
    assert household["data"]["poverty_state"] == "registered"
    assert len(household["data"]["members"]) == 1 and "member_id" in household["data"]["members"][0]
    assert json.loads(shown[2]["data"])["data"]["helper_id"] == str(helper.helper_id)
    # The county administrator holds pii:read: the same events with names; events carry no
    # part of an ID number for anyone.
    assert HEAD in admin.raw and SPOUSE in admin.raw and HELPER in admin.raw
    assert "622924*" not in admin.raw and "redacted" not in json.loads(full[0]["data"])


async def test_missing_stream_is_read_once_it_appears(live, js, auth_keys):
    headers = auth_keys.headers("county_admin", COUNTY)
    async with stream(live, headers, types="health.claim.settled") as sse:
        assert sse.opened["id"] == "HEALTH:0"  # no health service has published yet
        await ensure_stream(js, service_stream("health"))
        claim = health_events.ClaimSettled(
            household_id=uuid.uuid4(),
            person_id=uuid.uuid4(),
            region_code=VILLAGE,
            policy_year=2026,
            claim_id=uuid.uuid4(),
            settled_on=dt.date(2026, 3, 1),
            total="8000.00",
            out_of_pocket="640.00",
        )
        body = envelope(
            health_events.CLAIM_SETTLED,
            subject=claim.claim_id,
            sequence=1,
            region=VILLAGE,
            payload=claim,
        )
        seq = await publish_to(js, health_events.CLAIM_SETTLED, region=VILLAGE, body=body)
        got = await sse.event()
        assert got["event"] == "health.claim.settled" and got["id"] == f"HEALTH:{seq}"


async def test_stream_ends_when_the_token_expires(live, js, auth_keys):
    headers = auth_keys.headers("county_admin", COUNTY, ttl=dt.timedelta(seconds=3))
    async with stream(live, headers) as sse:
        last = await sse.event(timeout=10)
        assert last["event"] == "stream.interrupted" and last["id"] == sse.opened["id"]
        assert json.loads(last["data"])["code"] == "TOKEN_EXPIRED"
        with pytest.raises(AssertionError, match="stream ended"):
            await sse.frame()


# --- backpressure --------------------------------------------------------------------------


async def test_slow_reader_gets_the_queued_events_then_a_resume_point(live, js):
    await created(js, VILLAGE)  # the stream exists (the gateway made it) and has one event
    nc = js._nc
    sources = plan.sources(["registry.household.created"], COUNTY, CATALOGUE)
    relay = EventRelay(
        nc=nc,
        js=js,
        sources=sources,
        resume=None,
        queue_size=2,
        stall_seconds=0.5,
        consumer_inactive_seconds=30,
    )
    async with relay:
        start = relay.positions["REGISTRY"]
        bodies = [(await created(js, VILLAGE))[1] for _ in range(6)]
        await asyncio.sleep(1.5)  # read nothing: the queue fills and stays full
        got = [await relay.next(1), await relay.next(1)]
        assert [json.loads(r.data)["id"] for r in got] == [b["id"] for b in bodies[:2]]
        with pytest.raises(RelayInterrupted) as caught:
            await relay.next(1)
        assert caught.value.code == "SLOW_CLIENT"
        assert relay.positions["REGISTRY"] == start + 2  # resume right after what was read
        consumer = relay.consumer_names["REGISTRY"]
    names = [c.name for c in await js.consumers_info("REGISTRY")]
    assert consumer not in names


# --- limits: connections per caller, the replay window, disconnects ------------------------


async def test_open_streams_per_caller_are_capped(live, auth_keys):
    admin = auth_keys.headers("county_admin", COUNTY)  # every token of one subject
    async with contextlib.AsyncExitStack() as streams:
        for _ in range(3):  # the default limit
            await streams.enter_async_context(stream(live, admin))
        refused = await live.get("/events/stream", headers=admin)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "TOO_MANY_STREAMS"
        assert "at most 3 live streams" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        # another caller is not affected
        async with stream(live, auth_keys.headers("dashboard", COUNTY)):
            pass
    # the streams were closed: their slots are free again
    await streams_closed(live)
    async with stream(live, admin), stream(live, admin), stream(live, admin):
        pass


async def test_a_refused_request_holds_no_slot(live, auth_keys):
    admin = auth_keys.headers("county_admin", COUNTY)
    for _ in range(5):
        bad = await live.get("/events/stream", headers=admin, params={"types": "nope.nope.nope"})
        assert bad.status_code == 422
    async with stream(live, admin), stream(live, admin), stream(live, admin):
        pass


async def test_resume_beyond_the_end_is_refused(live, js, auth_keys):
    await created(js, VILLAGE)
    last = (await js.stream_info("REGISTRY")).state.last_seq
    admin = auth_keys.headers("county_admin", COUNTY)
    for params, headers, field in [
        ({}, {"Last-Event-ID": f"REGISTRY:{last + 1}"}, "header.last-event-id"),
        ({"last_event_id": f"REGISTRY:{last},HEALTH:7"}, {}, "query.last_event_id"),
    ]:
        response = await live.get("/events/stream", headers={**admin, **headers}, params=params)
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["code"] == "RESUME_BEYOND_END"
        assert problem["errors"][0]["field"] == field
        assert "without Last-Event-ID" in problem["detail"]
    # the stream's very end is a valid position: nothing missed, new events follow
    async with stream(live, {**admin, "Last-Event-ID": f"REGISTRY:{last}"}) as sse:
        assert sse.opened["id"].startswith(f"REGISTRY:{last}")
        _, body = await created(js, VILLAGE)
        assert json.loads((await sse.event())["data"])["id"] == body["id"]


async def test_resume_older_than_the_replay_window_is_refused(stack, js, auth_keys):
    window = 2.0  # seconds
    async with live_gateway(stack, stream_replay_window_hours=window / 3600) as live:
        await created(js, VILLAGE)
        admin = auth_keys.headers("county_admin", COUNTY)
        start = (await js.stream_info("REGISTRY")).state.first_seq - 1
        await asyncio.sleep(window + 0.5)
        _, recent = await created(js, VILLAGE)
        seen = (await js.stream_info("REGISTRY")).state.last_seq
        old = await live.get(
            "/events/stream", headers={**admin, "Last-Event-ID": f"REGISTRY:{start}"}
        )
        assert old.status_code == 409, old.text
        assert old.json()["code"] == "RESUME_TOO_OLD"
        assert old.json()["errors"][0]["field"] == "header.last-event-id"
        assert "at most 2 s back" in old.json()["detail"]
        # a position inside the window replays what followed it
        headers = {**admin, "Last-Event-ID": f"REGISTRY:{seen - 1}"}
        async with stream(live, headers, types="registry.household.created") as sse:
            assert json.loads((await sse.event())["data"])["id"] == recent["id"]


async def test_a_client_leaving_during_a_replay_logs_no_error(live, js, auth_keys, caplog):
    caplog.set_level(logging.INFO)
    await asyncio.gather(*(created(js, VILLAGE) for _ in range(300)))
    before = (await js.stream_info("REGISTRY")).state.consumer_count
    headers = {**auth_keys.headers("county_admin", COUNTY), "Last-Event-ID": "REGISTRY:0"}
    for _ in range(3):
        async with live.stream("GET", "/events/stream", headers=headers) as response:
            sse = SSE(response)
            for _ in range(5):  # a few of the 300, then gone while the rest pours out
                await sse.event()
    # every stream's consumer is deleted, its slot free, and nothing was logged as an error
    await eventually(
        lambda: js.stream_info("REGISTRY"),
        until=lambda info: info.state.consumer_count == before,
        timeout=10,
    )
    await streams_closed(live)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()[:200]) for r in errors]
    assert "Traceback" not in caplog.text and "BrokenResourceError" not in caplog.text
