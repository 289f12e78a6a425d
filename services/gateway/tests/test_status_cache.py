"""Status documents held in memory: the same bytes as the full endpoint, never older than
the projection, the same access rules."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway_testdata import (
    VILLAGE,
    applied,
    event,
    notifications_delivered,
    publish,
    publish_to,
    visit_envelope,
)
from prometheus_client import REGISTRY
from sqlalchemy import text

from contracts.events import registry as events
from devstack.testing import eventually
from gateway.config import GatewaySettings
from gateway.rebuild import rebuild
from gateway.status.cache import (
    REWARM_AFTER,
    SETTLED_SECONDS,
    CachedStatus,
    StatusCache,
    holds_on,
)
from gateway.status.document import holds_until
from kit.clock import FixedClock


def lookups(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "jingzhun_gateway_status_cache_lookups_total", {"outcome": outcome}
    )
    return value or 0.0


def entry(region: str = VILLAGE, body: bytes = b"{}") -> CachedStatus:
    return CachedStatus(region, body, dt.date(2026, 11, 22), None, 1, 1, ())


async def household(client, gateway_app, js, headers, *, sequence=1) -> uuid.UUID:
    """A household projected and its status read once (so held in memory)."""
    hid = uuid.uuid4()
    _, created = event(events.HOUSEHOLD_CREATED, hid, sequence)
    await publish(js, events.HOUSEHOLD_CREATED, created)
    url = f"/households/{hid}/status"
    await eventually(lambda: client.get(url, headers=headers), until=lambda r: r.status_code == 200)
    # A read that raced the projection's own notification is rightly not kept: once that
    # notification is heard, the next read is.
    await notifications_delivered(gateway_app)
    await client.get(url + "?fresh=false", headers=headers)
    assert str(hid) in gateway_app.state.status_cache._entries
    return hid


# --- the cache's own rules ---------------------------------------------------------------


def test_a_read_overtaken_by_a_change_is_not_kept():
    cache = StatusCache(capacity=10)
    cache.listening = True
    with cache.filling() as store:
        cache.changed("a")  # the row changed while it was being read
        store("a", entry())
        store("b", entry())
    assert "a" not in cache._entries and "b" in cache._entries
    with cache.filling() as store:
        cache.changed("*")  # a rebuild emptied the table meanwhile
        store("c", entry())
    assert len(cache) == 0
    with cache.filling() as early, cache.filling() as late:
        cache.changed("d")
        late("d", entry())  # began before the change too
        early("e", entry())
    assert list(cache._entries) == ["e"]
    assert cache._changed_at == {}  # nothing remembered once no read is running
    cache.listening = False  # not listening: a change could go unheard
    with cache.filling() as store:
        store("f", entry())
    assert "f" not in cache._entries


def test_only_a_settled_burst_of_households_not_held_calls_for_a_rewarm():
    cache = StatusCache(capacity=1_000)
    cache.listening = True

    def settle() -> None:
        cache._notified_at -= SETTLED_SECONDS

    with cache.filling() as store:
        for n in range(REWARM_AFTER):
            store(f"held-{n}", entry())
    for n in range(REWARM_AFTER):
        cache.changed(f"held-{n}")  # live traffic: each is read again when asked for
    settle()
    assert not cache.should_rewarm()
    for n in range(REWARM_AFTER):
        cache.changed(f"new-{n}")  # a backlog of households never held
    assert not cache.should_rewarm()  # still arriving
    settle()
    assert cache.should_rewarm()
    # Only those: a backlog drained in batches renders each household once, not the
    # whole table again after every batch.
    assert cache.rewarm_only == {f"new-{n}" for n in range(REWARM_AFTER)}
    assert not cache.should_rewarm()  # once per burst
    cache.changed("*")  # a rebuild, however small its county
    settle()
    assert cache.should_rewarm()
    assert cache.rewarm_only is None  # every household
    off = StatusCache(capacity=0)
    for n in range(REWARM_AFTER):
        off.changed(f"new-{n}")
    off._notified_at -= SETTLED_SECONDS
    assert not off.should_rewarm()


def test_the_least_recently_read_leaves_first():
    cache = StatusCache(capacity=2)
    cache.listening = True
    today = dt.date(2026, 11, 22)
    with cache.filling() as store:
        store("a", entry())
        store("b", entry())
    assert cache.get("a", today) is not None
    with cache.filling() as store:
        store("c", entry())
    assert sorted(cache._entries) == ["a", "c"]
    assert StatusCache(capacity=0).get("a", today) is None


def test_a_document_holds_until_a_visit_leaves_the_last_30_days():
    today = dt.date(2026, 11, 22)
    row = {"visit_dates": []}
    assert holds_until(row, today) is None
    row = {"visit_dates": ["2026-09-01", "2026-11-01", "2026-11-10"]}
    assert holds_until(row, today) == dt.date(2026, 12, 2)  # 11-01 counted through 12-01
    row = {"visit_dates": ["2026-11-10", "2026-11-25"]}  # one dated ahead
    assert holds_until(row, today) == dt.date(2026, 11, 25)
    stale = CachedStatus(VILLAGE, b"{}", today, dt.date(2026, 12, 2), 1, 1, ())
    assert holds_on(stale, dt.date(2026, 12, 1)) and not holds_on(stale, dt.date(2026, 12, 2))
    assert not holds_on(stale, dt.date(2026, 11, 21))  # a clock set back


# --- through the app -----------------------------------------------------------------


async def test_memory_answers_the_same_bytes_and_follows_every_change(
    client, gateway_app, js, auth_keys
):
    headers = auth_keys.headers("village_cadre", VILLAGE)
    hid = await household(client, gateway_app, js, headers)
    url = f"/households/{hid}/status"
    misses = lookups("miss")
    full = await client.get(url + "?fresh=false", headers=headers)  # the framework's way
    assert lookups("miss") == misses + 1
    hits = lookups("hit")
    cached = await client.get(url, headers=headers)
    assert lookups("hit") == hits + 1
    assert cached.content == full.content
    assert cached.headers["content-type"] == full.headers["content-type"] == "application/json"
    assert cached.headers["content-length"] == str(len(full.content))

    _, updated = event(
        events.HOUSEHOLD_UPDATED, hid, 2, poverty_state="exited", changed=["poverty_state"]
    )
    await publish(js, events.HOUSEHOLD_UPDATED, updated)
    await applied(gateway_app, 2)
    assert (await client.get(url, headers=headers)).json()["poverty_state"] == "exited"

    # A change made outside the handlers (a manual fix) is heard as well.
    async with gateway_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE household_status SET head_name = '马国强' WHERE household_id = :id"),
            {"id": hid},
        )
    await notifications_delivered(gateway_app)
    assert (await client.get(url, headers=headers)).json()["head_name"] == "马国强"


async def test_memory_keeps_the_access_rules(client, gateway_app, js, auth_keys):
    admin = auth_keys.headers()
    hid = await household(client, gateway_app, js, admin)
    url = f"/households/{hid}/status"
    other_township = auth_keys.headers("village_cadre", "622924101201")
    no_scope = auth_keys.headers("health_officer", scopes=("health:read",))
    for headers, status in ((other_township, 404), (no_scope, 403)):
        await client.get("/households/00000000-0000-0000-0000-000000000000/status", headers=headers)
        # the token is now remembered and the household held: the answer must not change
        response = await client.get(url, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Basic eDp5"})).status_code == 401


async def test_a_read_from_memory_is_traced_when_the_caller_traces_it(
    client, gateway_app, js, auth_keys, spans
):
    headers = auth_keys.headers()
    hid = await household(client, gateway_app, js, headers)
    url = f"/households/{hid}/status"
    spans.clear()

    def server_spans():
        return [s for s in spans.get_finished_spans() if s.attributes.get("url.path") == url]

    hits = lookups("hit")
    assert (await client.get(url, headers=headers)).status_code == 200
    assert lookups("hit") == hits + 1 and server_spans() == []  # counted, not traced
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = {**headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    assert (await client.get(url, headers=traced)).status_code == 200
    assert lookups("hit") == hits + 2
    [span] = server_spans()
    assert span.name == "GET /households/{household_id}/status"
    assert span.attributes["http.route"] == "/households/{household_id}/status"
    assert format(span.context.trace_id, "032x") == trace_id


async def test_the_count_of_recent_visits_moves_with_the_date(client, gateway_app, js, auth_keys):
    clock = FixedClock(dt.date(2026, 11, 22))
    gateway_app.state.clock = clock
    headers = auth_keys.headers()
    hid = await household(client, gateway_app, js, headers)
    await publish_to(
        js, events.HELPER_VISIT_LOGGED, visit_envelope(hid, uuid.uuid4(), "2026-11-01", 2)
    )
    await applied(gateway_app, 2)
    url = f"/households/{hid}/status"

    async def recent_visits():
        return (await client.get(url, headers=headers)).json()["helper"]["visits_last_30_days"]

    assert await recent_visits() == 1
    assert await recent_visits() == 1  # from memory
    clock.set(dt.date(2026, 12, 2))  # 31 days after the visit
    assert await recent_visits() == 0


async def test_a_lost_listener_empties_the_cache_until_it_listens_again(
    client, gateway_app, js, auth_keys
):
    headers = auth_keys.headers()
    hid = await household(client, gateway_app, js, headers)
    cache = gateway_app.state.status_cache
    async with gateway_app.state.runtime.engine.begin() as conn:
        ended = await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'gateway-status-cache' AND datname = current_database()"
            )
        )
        assert ended.all() == [(True,)]
    await eventually(lambda: _listening(cache), until=lambda up: not up, every=0.01)
    assert len(cache) == 0
    # Meanwhile a change nobody could hear: the refilled cache must carry it.
    async with gateway_app.state.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE household_status SET member_count = 7 WHERE household_id = :id"),
            {"id": hid},
        )
    await eventually(lambda: _listening(cache))
    await eventually(lambda: _held(cache, hid))  # warmed again on its own
    response = await client.get(f"/households/{hid}/status", headers=headers)
    assert response.json()["member_count"] == 7


async def test_a_rebuild_empties_every_process_cache(client, gateway_app, js, auth_keys):
    headers = auth_keys.headers()
    await household(client, gateway_app, js, headers)
    assert len(gateway_app.state.status_cache) == 1
    async with gateway_app.state.runtime.engine.begin() as conn:
        await conn.execute(text("TRUNCATE household_status"))
    await notifications_delivered(gateway_app)
    assert len(gateway_app.state.status_cache) == 0


async def test_a_projection_that_catches_up_warms_the_cache_again(
    client, gateway_app, js, auth_keys
):
    """A process that starts before its projection is complete (a fresh deployment behind
    a backlog) warmed nothing: once the backlog has drained, it warms again without reads."""
    cache = gateway_app.state.status_cache
    await eventually(lambda: _listening(cache))
    assert len(cache) == 0
    misses = lookups("miss")
    created = [uuid.uuid4() for _ in range(REWARM_AFTER)]
    for hid in created:
        _, body = event(events.HOUSEHOLD_CREATED, hid, 1)
        await publish(js, events.HOUSEHOLD_CREATED, body)
    await applied(gateway_app, len(created))
    await eventually(lambda: _count(cache), until=lambda held: held == len(created))
    assert lookups("miss") == misses  # nothing was read: the cache warmed itself
    # A read is answered from memory, the same bytes as the full endpoint's.
    headers, url = auth_keys.headers(), f"/households/{created[0]}/status"
    full = await client.get(url + "?fresh=false", headers=headers)  # (verifies the token once)
    hits = lookups("hit")
    cached = await client.get(url, headers=headers)
    assert lookups("hit") == hits + 1 and cached.content == full.content


async def test_a_rebuild_warms_the_cache_again_once_it_is_done(client, gateway_app, js, auth_keys):
    headers = auth_keys.headers()
    hid = await household(client, gateway_app, js, headers)
    cache = gateway_app.state.status_cache
    settings: GatewaySettings = gateway_app.state.runtime.settings
    report = await rebuild(settings)  # its TRUNCATE empties the cache, its replay refills the rows
    assert report.events == 1 and not report.failed
    await eventually(lambda: _held(cache, hid))  # warmed again on its own
    hits = lookups("hit")
    response = await client.get(f"/households/{hid}/status", headers=headers)
    assert response.status_code == 200 and lookups("hit") == hits + 1


async def _count(cache) -> int:
    return len(cache)


async def _listening(cache) -> bool:
    return cache.listening


async def _held(cache, hid) -> bool:
    return str(hid) in cache._entries
