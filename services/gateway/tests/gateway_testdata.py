"""Registry events crafted for gateway tests, and views of the gateway's tables."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from kit.envelope import build, encode

VILLAGE = "622924100201"


def snapshot(household_id: uuid.UUID, **overrides) -> dict:
    fields = dict(
        household_id=household_id,
        region_code=VILLAGE,
        group_no=1,
        poverty_state="registered",
        assistance_type="general",
        monitoring_category="none",
        causes=["illness"],
        primary_cause="illness",
        identified_year=2016,
        per_capita_net_income="2500.00",
        members=[
            dict(
                member_id=uuid.uuid4(),
                name="马建国",
                id_number_masked="6229**********1234",
                gender="male",
                birth_date="1970-01-01",
                relation="head",
                labour_capacity="able",
            )
        ],
    )
    return {**fields, **overrides}


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


# --- events anywhere in the county (the live stream's region tests) ------------------------

#: A village of another township (乡镇) of the same county as VILLAGE.
OTHER_TOWNSHIP_VILLAGE = "622924101201"


def event_in(region: str, spec, aggregate_id, sequence: int, payload) -> dict:
    """A CloudEvent of ``spec`` about ``aggregate_id`` in ``region`` (payload: a model)."""
    return build(
        spec,
        source=f"/jingzhun/{spec.producer}",
        aggregate_id=str(aggregate_id),
        region=region,
        sequence=sequence,
        data=payload,
    )[1]


async def publish_in(js, region: str, spec, body: dict) -> int:
    """Publish on the region's subject; returns the stream sequence."""
    ack = await js.publish(
        spec.subject(region), encode(body), headers={"Nats-Msg-Id": str(uuid.uuid4())}
    )
    return ack.seq
