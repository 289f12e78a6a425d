"""The registry's persons as a service keeps them, against a real PostgreSQL: the table the
migration step creates, the consumer's handlers applying the registry's events, and the
lookups refusing what lies outside the caller's region."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import event as sql_event
from sqlalchemy import select
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from contracts.events import registry as registry_events
from devstack.registry_payloads import registry_household, registry_member
from kit.auth import Principal
from kit.db import atomic, create_engine, create_sessionmaker
from kit.envelope import build, encode, parse
from kit.problems import Problem
from persons import PERSONS_TABLE, Persons, RegistryPerson
from persons.migration import create_persons_table

VILLAGE = "622924100201"
NEIGHBOUR_VILLAGE = "622924100202"
OTHER_COUNTY = "622925100201"


class ServiceModel(SQLModel, registry=registry()):
    """A service's own metadata, as each service has one."""


class Person(ServiceModel, RegistryPerson, table=True):
    __tablename__ = PERSONS_TABLE


persons = Persons(Person)


def member(name: str, relation: str, **extra) -> dict:
    return registry_member(name, relation, **extra)


def household(household_id: uuid.UUID, members: list[dict], **overrides) -> dict:
    return registry_household(household_id, members, **{"assistance_type": "dibao", **overrides})


def envelope(spec, payload: dict):
    """The event as a consumer receives it: built, sent as bytes, parsed."""
    _, body = build(
        spec,
        source="/jingzhun/registry",
        aggregate_id=str(payload["household_id"]),
        region=payload["region_code"],
        sequence=1,
        data=spec.payload(**payload),
    )
    return parse(encode(body)), body


def caller(region: str = VILLAGE) -> Principal:
    return Principal(subject="cadre", scopes=frozenset(), region=region)


@contextlib.asynccontextmanager
async def persons_database(postgres):
    """A fresh database whose only table is created by the migration step."""
    name = f"persons_{uuid.uuid4().hex[:12]}"
    postgres.psql(f'CREATE DATABASE "{name}"')
    engine = create_engine(postgres.url(name), pool_size=2)

    def migrate(connection) -> None:
        with Operations.context(MigrationContext.configure(connection)):
            create_persons_table()

    async with engine.begin() as conn:
        await conn.run_sync(migrate)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
        postgres.psql(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def sessions(postgres):
    async with persons_database(postgres) as sessions:
        yield sessions


async def stored(sessions, person_id: uuid.UUID) -> Person | None:
    async with sessions() as session:
        return await session.get(Person, person_id)


async def test_the_migration_step_creates_the_table_the_model_describes(sessions):
    async with sessions() as session:
        connection = await session.connection()
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}),
                ServiceModel.metadata,
            )
        )
    assert differences == []


async def test_a_snapshot_stores_its_members(sessions):
    hid = uuid.uuid4()
    head = member("马建国", "head", disability_level=2)
    child = member("马小宝", "child", has_id_number=False, birth_date="2026-03-01")
    snapshot = registry_events.HouseholdSnapshot(
        **household(hid, [head, child], policy_continuity_until="2030-12-31")
    )
    async with sessions() as session, atomic(session):
        changed = await persons.apply_households(session, [snapshot])
    assert {p.id for p in changed} == {head["member_id"], child["member_id"]}

    kept = await stored(sessions, head["member_id"])
    assert (kept.household_id, kept.region_code, kept.name, kept.relation) == (
        hid,
        VILLAGE,
        "马建国",
        "head",
    )
    assert (kept.poverty_state, kept.assistance_type, kept.disability_level) == (
        "registered",
        "dibao",
        2,
    )
    assert kept.policy_continuity_until == dt.date(2030, 12, 31)
    assert kept.has_id_number and kept.in_household and kept.updated_at is not None
    newborn = await stored(sessions, child["member_id"])
    assert not newborn.has_id_number and newborn.birth_date == dt.date(2026, 3, 1)


async def test_a_later_snapshot_without_a_member_marks_them_out_of_the_household(sessions):
    hid = uuid.uuid4()
    head, son = member("马建国", "head"), member("马小军", "child")
    async with sessions() as session, atomic(session):
        await persons.apply_households(
            session, [registry_events.HouseholdSnapshot(**household(hid, [head, son]))]
        )
    later = registry_events.HouseholdSnapshot(
        **household(hid, [head], poverty_state="exited", assistance_type="general")
    )
    async with sessions() as session, atomic(session):
        changed = await persons.apply_households(session, [later])

    # Both are returned (the one who left may change what the service derives), the row stays.
    assert {p.id: p.in_household for p in changed} == {
        head["member_id"]: True,
        son["member_id"]: False,
    }
    left = await stored(sessions, son["member_id"])
    assert left is not None and not left.in_household
    assert left.poverty_state == "registered"  # as of the last event that listed him
    assert (await stored(sessions, head["member_id"])).poverty_state == "exited"


async def test_the_consumer_applies_member_events_and_tells_the_service(sessions):
    hid = uuid.uuid4()
    head, wife = member("马建国", "head"), member("李秀英", "spouse", gender="female")
    told: list[set[uuid.UUID]] = []

    async def persons_changed(session, changed) -> None:
        told.append({p.id for p in changed})

    consumer = persons.registry_consumer(persons_changed)
    assert consumer.source_service == "registry"
    assert set(consumer.handlers) == {
        spec.name for spec in registry_events.SNAPSHOT_EVENTS + registry_events.MEMBER_EVENTS
    }
    created, _ = envelope(registry_events.HOUSEHOLD_CREATED, household(hid, [head]))
    added, _ = envelope(
        registry_events.MEMBER_ADDED,
        dict(
            household_id=hid,
            region_code=VILLAGE,
            member=wife,
            household=household(hid, [head, wife]),
        ),
    )
    for spec, event in [
        (registry_events.HOUSEHOLD_CREATED, created),
        (registry_events.MEMBER_ADDED, added),
    ]:  # one event a transaction, as on the consumer's careful path
        async with sessions() as session, atomic(session):
            await consumer.handlers[spec.name](session, event)
            await consumer.at_transaction_end(session)

    assert told == [{head["member_id"]}, {head["member_id"], wife["member_id"]}]
    assert (await stored(sessions, wife["member_id"])).relation == "spouse"


async def test_a_transaction_of_several_events_ends_as_one_event_a_transaction_would(postgres):
    """The consumer's batch: the handlers gather, the transaction's end writes every
    household at once and tells the service once, and the rows are those that applying
    the events one by one leaves."""
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    head, son = member("马建国", "head"), member("马小军", "child")
    wife, mover = member("李秀英", "head", gender="female"), member("李小红", "child")

    def created(household_id, members):
        spec = registry_events.HOUSEHOLD_CREATED
        return spec, envelope(spec, household(household_id, members))[0]

    def member_event(spec, household_id, changed, members, **snapshot):
        data = household(household_id, members, **snapshot)
        payload = dict(household_id=household_id, region_code=data["region_code"], member=changed)
        return spec, envelope(spec, {**payload, "household": data})[0]

    events = [
        created(first, [head, son]),
        created(second, [wife, mover]),
        # The later event of the first household: the son leaves, the household exits.
        member_event(
            registry_events.MEMBER_REMOVED,
            first,
            son,
            [head],
            poverty_state="exited",
            assistance_type="general",
        ),
        # A member of the second household is listed by a third one after it.
        member_event(
            registry_events.MEMBER_ADDED, third, mover, [mover], region_code=NEIGHBOUR_VILLAGE
        ),
    ]

    async def apply(sessions, transactions: list[list]) -> tuple[list, list[list[uuid.UUID]]]:
        told: list[list[uuid.UUID]] = []

        async def persons_changed(session, changed) -> None:
            told.append([p.id for p in changed])

        consumer = persons.registry_consumer(persons_changed)
        for transaction in transactions:
            async with sessions() as session, atomic(session):
                for spec, event in transaction:
                    await consumer.handlers[spec.name](session, event)
                await consumer.at_transaction_end(session)
        async with sessions() as session:
            rows = await session.execute(select(Person.__table__).order_by(Person.id))
            return [{**row._mapping, "updated_at": None} for row in rows], told

    async with persons_database(postgres) as batch, persons_database(postgres) as single:
        batch_rows, batch_told = await apply(batch, [events])
        single_rows, single_told = await apply(single, [[event] for event in events])

    assert batch_rows == single_rows
    everyone = sorted(p["member_id"] for p in (head, son, wife, mover))
    assert batch_told == [everyone]  # once, every household's persons, sorted
    assert len(single_told) == len(events)
    assert sorted({p for told in single_told for p in told}) == everyone
    by_id = {row["id"]: row for row in batch_rows}
    assert not by_id[son["member_id"]]["in_household"]
    assert by_id[head["member_id"]]["poverty_state"] == "exited"
    moved = by_id[mover["member_id"]]
    assert (moved["household_id"], moved["region_code"], moved["in_household"]) == (
        third,
        NEIGHBOUR_VILLAGE,
        True,
    )


async def test_any_number_of_households_is_written_in_three_statements(sessions):
    """An upsert of every member, an update of every leaver, a select of every person."""
    households = [
        registry_events.HouseholdSnapshot(
            **household(uuid.uuid4(), [member(f"马{n}{i}", "child") for i in range(4)])
        )
        for n in range(50)
    ]
    async with sessions() as session, atomic(session):
        await persons.apply_households(session, households)
    leaving = households[0].model_copy(update={"members": households[0].members[:1]})
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = sessions.kw["bind"].sync_engine
    sql_event.listen(engine, "before_cursor_execute", count)
    try:
        async with sessions() as session, atomic(session):
            changed = await persons.apply_households(session, [leaving, *households[1:]])
    finally:
        sql_event.remove(engine, "before_cursor_execute", count)
    assert len(changed) == 200
    assert sum(not p.in_household for p in changed) == 3
    assert [s.split()[0] for s in statements if s.split()[0] != "BEGIN"][:3] == [
        "INSERT",
        "UPDATE",
        "SELECT",
    ]
    assert len([s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "SELECT")]) == 3


async def test_an_event_published_before_has_id_number_still_applies(sessions):
    """Events on the stream from before the change carry ``id_number_masked`` (None for a
    newborn) instead of ``has_id_number``: they are applied as they are."""
    hid = uuid.uuid4()
    head = member("马建国", "head")
    newborn = member("马小宝", "child", has_id_number=False)
    event, _ = envelope(registry_events.HOUSEHOLD_CREATED, household(hid, [head, newborn]))
    for shown, old in zip(event.data["members"], ["6229**********1234", None], strict=True):
        shown["id_number_masked"] = old
        del shown["has_id_number"]

    async def persons_changed(session, changed) -> None:
        pass

    consumer = persons.registry_consumer(persons_changed)
    async with sessions() as session, atomic(session):
        await consumer.handlers[registry_events.HOUSEHOLD_CREATED.name](session, event)
        await consumer.at_transaction_end(session)

    assert (await stored(sessions, head["member_id"])).has_id_number
    assert not (await stored(sessions, newborn["member_id"])).has_id_number


async def test_a_person_is_named_only_in_the_callers_region(sessions):
    hid = uuid.uuid4()
    head = member("马建国", "head")
    async with sessions() as session, atomic(session):
        await persons.apply_households(
            session, [registry_events.HouseholdSnapshot(**household(hid, [head]))]
        )

    async with sessions() as session:
        found = await persons.named(session, head["member_id"], caller())
        assert found.name == "马建国"
        county = caller(VILLAGE[:6] + "000000")  # the county sees its villages
        assert (await persons.named(session, head["member_id"], county)).id == found.id
        for person_id, actor in [
            (head["member_id"], caller(NEIGHBOUR_VILLAGE)),
            (head["member_id"], caller(OTHER_COUNTY)),
            (uuid.uuid4(), caller()),
        ]:
            with pytest.raises(Problem) as refused:
                await persons.named(session, person_id, actor)
            assert (refused.value.status, refused.value.code) == (422, "UNKNOWN_PERSON")
            assert refused.value.title == "Unknown person"
            assert refused.value.field == "body.person_id"


async def test_a_household_is_listed_only_in_the_callers_region(sessions):
    hid = uuid.uuid4()
    head = member("马建国", "head", birth_date="1960-05-01")
    son = member("马小军", "child", birth_date="1990-01-01")
    daughter = member("马小红", "child", birth_date="1995-01-01")
    async with sessions() as session, atomic(session):
        await persons.apply_households(
            session, [registry_events.HouseholdSnapshot(**household(hid, [head, son, daughter]))]
        )
        await persons.apply_households(
            session, [registry_events.HouseholdSnapshot(**household(hid, [head, daughter]))]
        )

    async with sessions() as session:
        members = await persons.of_household(session, hid, caller())
        assert [p.name for p in members] == ["马建国", "马小红"]  # oldest first, son has left
        for household_id, actor in [(hid, caller(NEIGHBOUR_VILLAGE)), (uuid.uuid4(), caller())]:
            with pytest.raises(Problem) as refused:
                await persons.of_household(session, household_id, actor)
            assert refused.value.status == 404


async def test_each_service_has_its_own_table():
    """The columns are shared; the table belongs to the metadata of the service declaring it."""

    class OtherServiceModel(SQLModel, registry=registry()):
        pass

    class OtherPerson(OtherServiceModel, RegistryPerson, table=True):
        __tablename__ = PERSONS_TABLE

    mine, theirs = ServiceModel.metadata.tables, OtherServiceModel.metadata.tables
    assert set(mine) == set(theirs) == {PERSONS_TABLE}
    assert mine[PERSONS_TABLE] is not theirs[PERSONS_TABLE]
    assert [c.name for c in mine[PERSONS_TABLE].columns] == [
        c.name for c in theirs[PERSONS_TABLE].columns
    ]
