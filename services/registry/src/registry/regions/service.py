"""Writing regions (行政区划): the one place a region row changes, so that every change is
published (``registry.region.updated``, the gateway's statistics need names and
populations) in the same transaction as the row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import registry as events
from kit.changes import AggregateRef
from kit.outbox import notify
from registry.events import changes
from registry.models import Region, outbox_table


async def upsert_regions(session: AsyncSession, regions: Sequence[events.RegionUpdated]) -> int:
    """Insert the new regions and update the changed ones, each with its event (aggregate:
    the region code, ``sequence``: the region's version); an unchanged region is left as it
    is, without an event, so loading the same tree again publishes nothing. Parents may come
    in the same call as their children. The caller commits. Returns the regions written."""
    wanted = {r.code: r for r in regions}
    if len(wanted) != len(regions):
        raise ValueError("a region code appears twice")
    existing = {
        row.code: row
        for row in (
            await session.execute(select(Region).where(Region.code.in_(wanted)).with_for_update())
        ).scalars()
    }
    inserts: list[dict] = []
    written: list[tuple[events.RegionUpdated, AggregateRef]] = []
    for code, region in wanted.items():
        values = region.model_dump(mode="json")
        row = existing.get(code)
        # a region is an aggregate of its own, in its own region
        ref = AggregateRef("region", code, code, row.version if row else 0)
        if row is None:
            changes.bump(ref, new=True)
            inserts.append({**values, "version": ref.version})
            written.append((region, ref))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.version = changes.bump(ref)
            written.append((region, ref))
    if inserts:
        # one statement per batch: a child's foreign key to a parent inserted with it holds
        await session.execute(insert(Region), inserts)
    await session.flush()
    if written:
        rows = [changes.event_row(ref, events.REGION_UPDATED, region) for region, ref in written]
        await session.execute(insert(outbox_table), rows)
        await notify(session)
    return len(written)
