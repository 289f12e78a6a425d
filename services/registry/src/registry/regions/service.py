"""Writing regions (行政区划): the one place a region row changes, so that every change is
published (``registry.region.updated``, the gateway's statistics need names and
populations) in the same transaction as the row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import registry as events
from kit.outbox import notify
from registry.events import outbox
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
    written: list[tuple[events.RegionUpdated, int]] = []
    for code, region in wanted.items():
        values = region.model_dump(mode="json")
        row = existing.get(code)
        if row is None:
            inserts.append({**values, "version": 1})
            written.append((region, 1))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            written.append((region, row.version))
    if inserts:
        # one statement per batch: a child's foreign key to a parent inserted with it holds
        await session.execute(insert(Region), inserts)
    await session.flush()
    if written:
        rows = [
            outbox.row(
                events.REGION_UPDATED,
                aggregate_id=region.code,
                region=region.code,
                sequence=version,
                data=region,
            )
            for region, version in written
        ]
        await session.execute(insert(outbox_table), rows)
        await notify(session)
    return len(written)
