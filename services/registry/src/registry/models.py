"""Registry tables (storage). API schemas live beside the endpoints, never here."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import ARRAY, Column, DateTime, ForeignKey, Numeric, String, func
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.outbox import define_outbox_table


class RegistryModel(SQLModel, registry=registry()):
    """Base of the registry's tables: its own metadata, so migrations see only these."""


metadata = RegistryModel.metadata


def _timestamp(**kwargs) -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now(), **kwargs)


class Region(RegistryModel, table=True):
    """行政区划: province → city → county → township → village."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(
        default=None, foreign_key="regions.code", index=True, max_length=12
    )


class Household(RegistryModel, table=True):
    """户: the unit of registration, assistance, 公示 and exit."""

    __tablename__ = "households"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    region_code: str = Field(foreign_key="regions.code", index=True, max_length=12)
    group_no: int | None = None
    poverty_state: str = Field(index=True, max_length=32)
    assistance_type: str = Field(max_length=16)
    monitoring_category: str = Field(max_length=32)
    causes: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    primary_cause: str = Field(max_length=32)
    identified_year: int | None = None
    per_capita_net_income: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    #: Aggregate version: the ``sequence`` of the last event about this household.
    version: int = Field(default=1)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


class Member(RegistryModel, table=True):
    """户成员: a person belongs to one household at a time."""

    __tablename__ = "members"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("households.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=50)
    #: HMAC of the ID number: unique, so one person is in one household only.
    id_number_hash: str = Field(max_length=64, unique=True)
    id_number_cipher: str
    id_number_masked: str = Field(max_length=18)
    gender: str = Field(max_length=8)
    birth_date: dt.date
    relation: str = Field(max_length=16)
    labour_capacity: str = Field(max_length=8)
    created_at: dt.datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(onupdate=func.now()))


outbox_table = define_outbox_table(metadata)
