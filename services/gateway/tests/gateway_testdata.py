"""Registry events crafted for gateway tests, and views of the gateway's tables."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from devstack.registry_payloads import VILLAGE, registry_household
from kit.envelope import build, encode


def snapshot(household_id: uuid.UUID, **overrides) -> dict:
    return registry_household(household_id, **overrides)


def member(name: str, relation: str, **extra) -> dict:
    """A member as the registry's snapshots carry it."""
    return dict(
        member_id=uuid.uuid4(),
        name=name,
        has_id_number=True,
        gender="male",
        birth_date="1970-01-01",
        relation=relation,
        labour_capacity="able",
        **extra,
    )


def event(spec, household_id, sequence, **payload):
    data = spec.payload(**snapshot(household_id, **payload))
    return build(
        spec,
        source="/jingzhun/registry",
        aggregate_id=str(household_id),
        region=VILLAGE,
        sequence=sequence,
        data=data,
    )


async def publish(js, spec, body: dict, *, msg_id: str | None = None) -> None:
    # A new message id defeats the broker's dedupe: the same event arrives as a true redelivery.
    headers = {"Nats-Msg-Id": msg_id or str(uuid.uuid4())}
    await js.publish(spec.subject(VILLAGE), encode(body), headers=headers)


async def status_row(app, household_id):
    async with app.state.runtime.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text("SELECT * FROM household_status WHERE household_id = :id"),
                    {"id": household_id},
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def inbox_outcomes(app) -> dict[str, int]:
    async with app.state.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT outcome, count(*) FROM inbox GROUP BY outcome"))
        ).all()
    return dict(rows)


OTHER_TOWNSHIP_VILLAGE = "622924101201"


def envelope(spec, payload, *, subject, sequence, region=VILLAGE, source=None):
    """Any catalogued event, built as its producer would."""
    return build(
        spec,
        source=source or f"/jingzhun/{spec.producer}",
        aggregate_id=str(subject),
        region=region,
        sequence=sequence,
        data=payload,
    )[1]


async def publish_to(js, spec, body: dict, region: str = VILLAGE) -> int:
    """Publish on the region's subject; returns the stream sequence."""
    ack = await js.publish(spec.subject(region), encode(body), headers={"Nats-Msg-Id": body["id"]})
    return ack.seq


def fact(status: str, reason: str | None = None, as_of: str = "2026-01-15T00:00:00+00:00"):
    return {"status": status, "reason": reason, "as_of": as_of}


async def counters(app) -> tuple[dict, dict]:
    """(stored counters, the same recounted from scratch)."""
    from gateway.projection.statistics import recount, stored_counters

    async with app.state.runtime.sessionmaker() as session:
        return await stored_counters(session), await recount(session)


async def applied(app, n: int) -> None:
    """Wait until ``n`` events have been handled (applied, stale or ignored)."""
    from devstack.testing import eventually

    async def handled():
        async with app.state.runtime.engine.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM inbox"))).scalar_one()

    await eventually(handled, until=lambda count: count >= n)
    await notifications_delivered(app)


async def notifications_delivered(app) -> None:
    """Wait until the status cache has heard every change committed so far (PostgreSQL
    delivers notifications in commit order: a marker sent now arrives after them)."""
    from devstack.testing import eventually
    from gateway.status.cache import CHANNEL

    marker = f"marker-{uuid.uuid4()}"
    async with app.state.runtime.engine.connect() as conn:
        await conn.execute(
            text("SELECT pg_notify(:channel, :marker)"), dict(channel=CHANNEL, marker=marker)
        )
        await conn.commit()

    async def last_heard():
        return app.state.status_cache.last_notification

    await eventually(last_heard, until=lambda seen: seen == marker, every=0.01)


async def projection_state(app) -> dict:
    """Every projection table, rows sorted, bookkeeping timestamps left out."""
    from gateway.models import inbox_table
    from gateway.rebuild import PROJECTION_TABLES

    state = {}
    async with app.state.runtime.engine.connect() as conn:
        for table in [*PROJECTION_TABLES, inbox_table]:
            columns = [c for c in table.columns if c.name not in ("updated_at", "received_at")]
            query = table.select().with_only_columns(*columns)
            if "value" in table.c:  # a counter at 0 is the same as no counter
                query = query.where(table.c.value != 0)
            rows = (await conn.execute(query)).all()
            state[table.name] = sorted(map(repr, rows))
    return state


def alert_payload(household_id, alert_id, status="open", **extra):
    """A registry risk alert about a dangerous house, as the registry publishes it."""
    from contracts.events import registry as registry_events

    return registry_events.AlertRaised(
        alert_id=alert_id,
        household_id=household_id,
        person_id=None,
        region_code=VILLAGE,
        kind="dangerous_house",
        status=status,
        category="marginal",
        raised_on="2026-05-01",
        due_date="2026-05-31",
        source_service="housing",
        source_event_type=None,
        source_event_id=None,
        **extra,
    )


def visit_envelope(household_id, helper_id, day: str, sequence: int) -> dict:
    """A helper's home visit (入户走访) as the registry publishes it."""
    from contracts.events import registry as registry_events

    visit = registry_events.HelperVisitLogged(
        visit_id=uuid.uuid4(),
        household_id=household_id,
        region_code=VILLAGE,
        helper_id=helper_id,
        helper_name="李帮扶",
        visit_date=day,
        kind="home_visit",
    )
    return envelope(
        registry_events.HELPER_VISIT_LOGGED, visit, subject=household_id, sequence=sequence
    )


async def hostile_seed(app, client, stack):
    """Real rows for the hostile-input suite (tests/test_hostile_input.py): a household's
    status, projected from its registry event."""
    import nats

    from contracts.events import registry as registry_events
    from devstack.hostile import Seed

    household_id = uuid.uuid4()
    nc = await nats.connect(stack.nats_url)
    try:
        _, body = event(registry_events.HOUSEHOLD_CREATED, household_id, 1)
        await publish(nc.jetstream(), registry_events.HOUSEHOLD_CREATED, body)
    finally:
        await nc.close()
    await applied(app, 1)
    return Seed(
        values={
            "household_id": str(household_id),
            "region": VILLAGE,
            "code": VILLAGE,
            "helper_id": str(uuid.uuid4()),  # the token's: /me/households answers
        }
    )
