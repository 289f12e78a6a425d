"""The one write path (real PostgreSQL): :meth:`kit.changes.Changes.record` bumps the
aggregate's version, stages its event with ``sequence`` = version and its audit entry with
before and after, in the caller's transaction, and commits nothing itself."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from kit.audit import AuditLog, define_audit_table
from kit.changes import AggregateRef, Changes
from kit.db import asyncpg_dsn, create_engine
from kit.outbox import Outbox, define_outbox_table

VILLAGE = "622924100201"


class Changed(BaseModel):
    widget_id: uuid.UUID
    colour: str


CHANGED = EventSpec(
    name="kittest.widget.changed",
    version=1,
    payload=Changed,
    aggregate="widget",
    description="A widget changed colour.",
)


class GreenWidget:
    """An aggregate as the write path reads it: id, region_code, version."""

    def __init__(self, version: int = 1) -> None:
        self.id = uuid.uuid4()
        self.region_code = VILLAGE
        self.version = version


metadata = MetaData()
outbox_table = define_outbox_table(metadata)
audit_table = define_audit_table(metadata)
changes = Changes(Outbox(outbox_table, service="kittest"), AuditLog(audit_table))


@pytest.fixture
async def engine(postgres):
    """A database of its own: the outbox and the audit log have the services' table names."""
    admin = await asyncpg.connect(asyncpg_dsn(postgres.url()))
    await admin.execute("DROP DATABASE IF EXISTS kit_changes WITH (FORCE)")
    await admin.execute("CREATE DATABASE kit_changes")
    engine = create_engine(postgres.url("kit_changes"), pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()
    await admin.execute("DROP DATABASE kit_changes WITH (FORCE)")
    await admin.close()


async def _rows(engine, table) -> list:
    """What is committed: another connection's view."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(table))).mappings())


async def test_a_change_bumps_the_version_and_stages_event_and_audit_uncommitted(engine):
    widget = GreenWidget(version=3)
    async with AsyncSession(engine) as session:
        await changes.record(
            session,
            widget,
            actor="tester",
            event=CHANGED,
            data=Changed(widget_id=widget.id, colour="green"),
            before={"colour": "red"},
            after={"colour": "green"},
        )
        assert widget.version == 4
        # staged in the caller's transaction, not committed by the call
        assert await _rows(engine, outbox_table) == []
        assert await _rows(engine, audit_table) == []
        await session.commit()
    [event] = await _rows(engine, outbox_table)
    assert event["aggregate_id"] == str(widget.id)
    assert event["subject"] == "kittest.widget.changed.62.29.24.100.201"
    assert event["envelope"]["sequence"] == 4
    assert event["envelope"]["region"] == VILLAGE
    assert event["envelope"]["data"] == {"widget_id": str(widget.id), "colour": "green"}
    [entry] = await _rows(engine, audit_table)
    assert (entry["actor"], entry["action"], entry["entity"]) == (
        "tester",
        "kittest.widget.changed",
        "green_widget",
    )
    assert (entry["entity_id"], entry["region_code"]) == (str(widget.id), VILLAGE)
    assert (entry["before"], entry["after"]) == ({"colour": "red"}, {"colour": "green"})


async def test_a_rolled_back_change_leaves_nothing(engine):
    widget = GreenWidget()
    async with AsyncSession(engine) as session:
        await changes.record(
            session,
            widget,
            actor="tester",
            event=CHANGED,
            data=Changed(widget_id=widget.id, colour="blue"),
        )
        await session.rollback()
    assert await _rows(engine, outbox_table) == []
    assert await _rows(engine, audit_table) == []


async def test_a_new_aggregate_is_at_version_one(engine):
    widget = GreenWidget(version=7)
    async with AsyncSession(engine) as session, session.begin():
        await changes.record(
            session,
            widget,
            actor="tester",
            event=CHANGED,
            data=Changed(widget_id=widget.id, colour="green"),
            new=True,
        )
    assert widget.version == 1
    [event] = await _rows(engine, outbox_table)
    assert event["envelope"]["sequence"] == 1


async def test_audit_only_and_event_only_are_options_of_the_same_call(engine):
    widget = GreenWidget(version=2)
    async with AsyncSession(engine) as session, session.begin():
        await changes.record(
            session, widget, actor="tester", action="widget.inspected", after={"ok": True}
        )
        assert widget.version == 2  # no event: the version stays
        await changes.record(
            session,
            widget,
            event=CHANGED,
            data=Changed(widget_id=widget.id, colour="green"),
            audited=False,
        )
        assert widget.version == 3
    [entry] = await _rows(engine, audit_table)
    assert (entry["action"], entry["after"]) == ("widget.inspected", {"ok": True})
    [event] = await _rows(engine, outbox_table)
    assert event["envelope"]["sequence"] == 3
    with pytest.raises(ValueError, match="event, is audited"):
        await changes.record(session, widget, audited=False)
    with pytest.raises(ValueError, match="names its action"):
        await changes.record(session, widget, actor="tester")
    with pytest.raises(ValueError, match="names its actor"):
        await changes.record(session, widget, action="widget.inspected")


async def test_bulk_writers_build_the_same_rows():
    ref = AggregateRef("widget", "w-1", VILLAGE, version=0)
    assert changes.bump(ref, new=True) == 1
    event = changes.event_row(ref, CHANGED, Changed(widget_id=uuid.uuid4(), colour="red"))
    assert (event["aggregate_id"], event["envelope"]["sequence"]) == ("w-1", 1)
    entry = changes.audit_row(ref, actor="tester", event=CHANGED, after={"colour": "red"})
    assert (entry["entity"], entry["entity_id"], entry["action"]) == (
        "widget",
        "w-1",
        "kittest.widget.changed",
    )
    short = Changes(changes.outbox, changes.audit, short_actions=True)
    assert short.audit_row(ref, actor="tester", event=CHANGED)["action"] == "widget.changed"


# --- one kind of aggregate, said once ------------------------------------------------------


class ColouredWidget(GreenWidget):
    def __init__(self, colour: str, version: int = 1) -> None:
        super().__init__(version)
        self.colour = colour


widgets = changes.of(
    view=lambda widget: {"colour": widget.colour},
    data=lambda widget: Changed(widget_id=widget.id, colour=widget.colour),
)


async def _recorded(engine) -> tuple[list, list]:
    """The committed events' (sequence, data) and audit entries' (action, before, after)."""
    events = [
        (e["envelope"]["sequence"], e["envelope"]["data"])
        for e in await _rows(engine, outbox_table)
    ]
    entries = [(e["action"], e["before"], e["after"]) for e in await _rows(engine, audit_table)]
    return events, entries


async def test_a_change_views_the_aggregate_before_the_block_and_records_it_after(engine):
    widget = ColouredWidget("red", version=3)
    async with AsyncSession(engine) as session, session.begin():
        async with widgets.change(session, widget, CHANGED, actor="tester"):
            assert widget.version == 3  # nothing recorded inside the block
            widget.colour = "green"
    assert widget.version == 4
    assert await _recorded(engine) == (
        [(4, {"widget_id": str(widget.id), "colour": "green"})],
        [("kittest.widget.changed", {"colour": "red"}, {"colour": "green"})],
    )


async def test_a_block_that_raises_records_nothing(engine):
    widget = ColouredWidget("red", version=3)
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(RuntimeError):
            async with widgets.change(session, widget, CHANGED, actor="tester"):
                widget.colour = "green"
                raise RuntimeError("refused half-way")
    assert widget.version == 3
    assert await _recorded(engine) == ([], [])


async def test_created_is_a_new_aggregate_and_its_view(engine):
    widget = ColouredWidget("blue", version=9)
    async with AsyncSession(engine) as session, session.begin():
        await widgets.created(session, widget, CHANGED, actor="tester")
    assert widget.version == 1
    assert await _recorded(engine) == (
        [(1, {"widget_id": str(widget.id), "colour": "blue"})],
        [("kittest.widget.changed", None, {"colour": "blue"})],
    )


async def test_a_call_may_name_other_data_action_and_after(engine):
    widget = ColouredWidget("blue")
    other = ColouredWidget("grey")
    async with AsyncSession(engine) as session, session.begin():
        await widgets.created(
            session,
            widget,
            CHANGED,
            actor="tester",
            data=lambda w: Changed(widget_id=w.id, colour="painted"),
            action="widget.made",
            after={"asked": "blue"},
        )
        async with widgets.change(session, other, CHANGED, actor="tester", also={"note": "why"}):
            other.colour = "black"
    events, entries = await _recorded(engine)
    assert sorted(data["colour"] for _, data in events) == ["black", "painted"]
    assert sorted(entries, key=str) == sorted(
        [
            ("widget.made", None, {"asked": "blue"}),
            ("kittest.widget.changed", {"colour": "grey"}, {"colour": "black", "note": "why"}),
        ],
        key=str,
    )


async def test_if_changed_records_only_a_change_of_the_view(engine):
    widget = ColouredWidget("red", version=2)
    async with AsyncSession(engine) as session, session.begin():
        async with widgets.change(session, widget, CHANGED, actor="tester", if_changed=True):
            widget.colour = "red"  # recomputed to the same
        assert widget.version == 2
        async with widgets.change(session, widget, CHANGED, actor="tester", if_changed=True):
            widget.colour = "green"
    assert widget.version == 3
    events, entries = await _recorded(engine)
    assert [sequence for sequence, _ in events] == [3]
    assert entries == [("kittest.widget.changed", {"colour": "red"}, {"colour": "green"})]


async def test_an_event_needs_its_data():
    views_only = changes.of(view=lambda widget: {"colour": widget.colour})
    with pytest.raises(ValueError, match="needs its data"):
        await views_only.created(None, ColouredWidget("red"), CHANGED, actor="tester")
