"""Gateway tables: read models only, rebuilt from events (it owns no domain data)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ARRAY, Column, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.consumer import define_inbox_tables


class GatewayModel(SQLModel, registry=registry()):
    """Base of the gateway's tables: its own metadata, so migrations see only these."""


metadata = GatewayModel.metadata


class HouseholdStatus(GatewayModel, table=True):
    """One row per household: basics from the registry and each dimension's state."""

    __tablename__ = "household_status"

    household_id: uuid.UUID = Field(primary_key=True)
    region_code: str = Field(index=True, max_length=12)
    head_name: str | None = Field(default=None, max_length=50)
    member_count: int = 0
    poverty_state: str = Field(max_length=32)
    assistance_type: str = Field(max_length=16)
    monitoring_category: str = Field(max_length=32)
    primary_cause: str = Field(max_length=32)
    causes: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    #: {dimension: {status, reason, source, event_id, as_of}}
    dimensions: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    #: Event that last changed the registry basics.
    registry_event_id: str = Field(max_length=64)
    registry_event_at: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: dt.datetime | None = Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
        ),
    )


inbox_table, positions_table = define_inbox_tables(metadata)
