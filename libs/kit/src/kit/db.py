"""Async database engine and sessions (SQLModel over SQLAlchemy asyncio + asyncpg)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, any_, event, literal
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

#: A pooled connection idle longer than this is pinged before use (see create_engine).
IDLE_PING_SECONDS = 1.0
_UUIDS = ARRAY(UUID(as_uuid=True))


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine whose pool pings a connection before use only if it sat idle.

    ``pool_pre_ping`` pings on every checkout: a round trip per request, a tenth of a short
    read's cost. Under load connections never sit idle, and a server restart is noticed
    the first time a connection is taken after a pause, which is when a ping is cheap."""
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)

    @event.listens_for(engine.sync_engine, "checkin")
    def remember_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")  # None: a new connection
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops this connection and takes another
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: response models are built from objects after commit.
    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=WriteSession, expire_on_commit=False
    )


class WriteSession(Session):
    """A session whose transaction is committed by its :func:`atomic` block alone: a
    ``commit()`` inside one would end the transaction halfway through the block."""

    def commit(self) -> None:
        if self.info.get(_ATOMIC):
            raise RuntimeError(
                "commit() inside an atomic block: the outermost kit.db.atomic commits"
            )
        super().commit()


class ReadOnlySession(Session):
    """A session that refuses to write: a read endpoint that tries is a bug, not a write."""

    def flush(self, objects=None) -> None:  # noqa: ANN001 (SQLAlchemy's signature)
        if self.new or self.dirty or self.deleted:
            raise RuntimeError("a read-only session cannot write; use kit.app.SessionDep")
        super().flush(objects)


class ConsumerSession(Session):
    """The session of a consumer's batch: the consumer commits it, with the batch, and acks
    after; a handler that commits would split the batch and ack what it did not keep."""

    def commit(self) -> None:
        raise RuntimeError(
            "a consumer's session is committed by the consumer with its batch; "
            "write in it and return (kit.db.atomic joins its transaction)"
        )


def consumer_sessionmaker(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The same sessions as ``sessions``, refusing ``commit()``: a consumer's transaction
    ends with its ``session.begin()`` block."""
    return async_sessionmaker(
        class_=sessions.class_, **{**sessions.kw, "sync_session_class": ConsumerSession}
    )


#: ``session.info`` key set while an :func:`atomic` block owns the session's transaction.
_ATOMIC = "kit.atomic"


@contextlib.asynccontextmanager
async def atomic(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The one transaction boundary: ``async with atomic(session): ...``.

    Outermost, it owns the transaction: the block's work (and whatever the session did
    before it) is committed when the block ends, rolled back if it raises. Inside another
    ``atomic`` block or a consumer's batch it joins that transaction and commits nothing:
    the outer boundary does, so a service method never knows whether it runs for a
    request, a nested call or an event."""
    if session.info.get(_ATOMIC) or isinstance(session.sync_session, ConsumerSession):
        yield session
        return
    session.info[_ATOMIC] = True
    try:
        yield session
    except BaseException:
        session.info.pop(_ATOMIC, None)
        await session.rollback()
        raise
    session.info.pop(_ATOMIC, None)
    await session.commit()


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read, in autocommit mode: no BEGIN and ROLLBACK round
    trips around the query. Under READ COMMITTED a transaction gives a reader nothing (each
    statement sees its own snapshot either way), and those two round trips were a fifth of
    a lookup's cost."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        class_=AsyncSession,
        sync_session_class=ReadOnlySession,
        expire_on_commit=False,
    )


def is_transient(exc: BaseException) -> bool:
    """True for failures that say "the database or network is away", not "this input is bad":
    worth retrying later, never worth dead-lettering or blaming the caller for."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    return isinstance(
        exc,
        (
            OSError,
            TimeoutError,
            ConnectionError,
            asyncpg.PostgresConnectionError,
            asyncpg.CannotConnectNowError,
        ),
    )


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq-style DSN asyncpg wants (for LISTEN connections)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def among(column: ColumnElement[Any], ids: Iterable[uuid.UUID]) -> ColumnElement[bool]:
    """``column = ANY(:ids)``: the ids as one array parameter, so the statement is the same
    for one id or a batch's thousand (an ``IN`` list is a new statement for each length,
    prepared again by the server)."""
    return column == any_(literal(list(ids), _UUIDS))
