"""The columns of a service's ``persons`` table: one row per registry household member."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, func, text
from sqlmodel import Field, SQLModel

#: The table's name in every service that keeps the registry's persons (its other tables
#: reference ``persons.id``).
PERSONS_TABLE = "persons"


class RegistryPerson(SQLModel):
    """A registry household member as a service knows them (from registry events).

    Not a table itself: a service's ``Person`` is its own base with these columns
    (``class Person(HealthModel, RegistryPerson, table=True)``), so the table lands in that
    service's metadata and database. Everything here comes from the registry's events; a
    service's own facts about a person belong in its own tables."""

    id: uuid.UUID = Field(primary_key=True, description="Registry member id (户成员)")
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    name: str = Field(max_length=50)
    #: False for a newborn or a person whose 户口 is pending (registry: id_pending); the
    #: number itself, even masked, is never learnt.
    has_id_number: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    birth_date: dt.date | None = None
    relation: str = Field(max_length=16)
    #: The household's 贫困状态, 帮扶类型 and 脱贫不脱政策 date, as of the last event.
    poverty_state: str = Field(max_length=24)
    assistance_type: str = Field(max_length=16)
    policy_continuity_until: dt.date | None = None
    disability_level: int | None = None
    #: False once the registry removed the person from the household (a service's records
    #: about them stay).
    in_household: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    updated_at: dt.datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),  # type: ignore[call-overload]
        nullable=False,
        sa_column_kwargs={"server_default": func.now()},
    )
