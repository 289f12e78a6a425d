"""Async database engine and sessions (SQLModel over SQLAlchemy asyncio + asyncpg)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: response models are built from objects after commit.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


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
