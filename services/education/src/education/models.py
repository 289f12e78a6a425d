"""Education (教育扶贫) tables (storage). API schemas live beside the endpoints, never here."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from kit.audit import define_audit_table
from kit.outbox import define_outbox_table


class EducationModel(SQLModel, registry=registry()):
    """Base of the education service's tables: its own metadata, so migrations see only these."""


metadata = EducationModel.metadata

audit_table = define_audit_table(metadata)
outbox_table = define_outbox_table(metadata)
