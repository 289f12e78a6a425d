"""Education (教育扶贫) tables (storage). API schemas live beside the endpoints, never here."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from kit.audit import define_audit_table
from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table
from kit.policy import define_policy_table
from persons import PERSONS_TABLE, RegistryPerson


class EducationModel(SQLModel, registry=registry()):
    """Base of the education service's tables: its own metadata, so migrations see only these."""


metadata = EducationModel.metadata


class Person(EducationModel, RegistryPerson, table=True):
    """A registry household member as the education service knows them (from the registry's
    events, through the persons library; never the registry's database)."""

    __tablename__ = PERSONS_TABLE


audit_table = define_audit_table(metadata)
#: What the registry consumer has applied (kit.consumer).
inbox_table, positions_table = define_inbox_tables(metadata)
#: Overrides of the policy parameters (education.policy), by region subtree and year.
policy_table = define_policy_table(metadata)
outbox_table = define_outbox_table(metadata)
