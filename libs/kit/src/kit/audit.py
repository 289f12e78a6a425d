"""Append-only audit log (ARCHITECTURE §6): who changed what, when, before and after.

A service adds the table to its own metadata (:func:`define_audit_table`) and writes one
row per change in the same transaction as the change (through the one write path,
:meth:`kit.changes.Changes.record`). The migration installs triggers that refuse UPDATE,
DELETE and TRUNCATE, so not even the service can rewrite history (:func:`append_only_sql`,
run by :func:`kit.migrations.make_append_only`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal


def define_audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor", String(200), nullable=False, comment="token subject, or a system name"),
        Column("roles", ARRAY(String(64)), nullable=False),
        Column("action", String(100), nullable=False, comment="e.g. household.updated"),
        Column("entity", String(50), nullable=False),
        Column("entity_id", String(100), nullable=False),
        Column("region_code", String(12), nullable=True),
        Column("before", JSONB, nullable=True),
        Column("after", JSONB, nullable=True),
        Index("ix_audit_log_entity", "entity", "entity_id", "id"),
    )


def append_only_sql(table: str = "audit_log") -> list[str]:
    """Statements (for a migration: :func:`kit.migrations.make_append_only`) that make
    ``table`` refuse UPDATE and DELETE of a row, and TRUNCATE (a statement-level trigger:
    no row trigger sees it). ``OR REPLACE``: running them again changes nothing."""
    return [
        """
        CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit log is append-only (% refused)', TG_OP;
        END $$ LANGUAGE plpgsql
        """,
        f"""
        CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()
        """,
        f"""
        CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()
        """,
    ]


class AuditEntry(BaseModel):
    """One change as the API shows it."""

    id: int
    at: dt.datetime
    actor: str
    roles: list[str]
    action: str
    entity: str
    entity_id: str
    region_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _json(value: BaseModel | dict[str, Any] | None) -> dict[str, Any] | None:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


class AuditLog:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def row(
        *,
        actor: Principal | str,
        action: str,
        entity: str,
        entity_id: uuid.UUID | str,
        region_code: str | None = None,
        before: BaseModel | dict[str, Any] | None = None,
        after: BaseModel | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One audit row (column → value): for :meth:`record` and for bulk writers."""
        subject, roles = (
            (actor.subject, list(actor.roles)) if isinstance(actor, Principal) else (actor, [])
        )
        return dict(
            actor=subject,
            roles=roles,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            region_code=region_code,
            before=_json(before),
            after=_json(after),
        )

    async def record(
        self,
        session: AsyncSession,
        *,
        actor: Principal | str,
        action: str,
        entity: str,
        entity_id: uuid.UUID | str,
        region_code: str | None = None,
        before: BaseModel | dict[str, Any] | None = None,
        after: BaseModel | dict[str, Any] | None = None,
    ) -> None:
        """Stage one audit row in the caller's transaction."""
        row = self.row(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            region_code=region_code,
            before=before,
            after=after,
        )
        await self.stage(session, row)

    async def stage(self, session: AsyncSession, row: dict[str, Any]) -> None:
        """Insert a row built by :meth:`row` in the caller's transaction."""
        await session.execute(insert(self.table).values(**row))

    async def entries(
        self, session: AsyncSession, entity: str, entity_id: uuid.UUID | str, *, limit: int = 500
    ) -> list[AuditEntry]:
        """The entity's changes, oldest first."""
        rows = await session.execute(
            select(self.table)
            .where(self.table.c.entity == entity, self.table.c.entity_id == str(entity_id))
            .order_by(self.table.c.id)
            .limit(limit)
        )
        return [AuditEntry.model_validate(dict(r._mapping)) for r in rows]
