"""Alembic environment of the health service."""

from health.config import HealthSettings
from health.models import metadata
from kit.migrations import run_migrations

run_migrations(metadata, HealthSettings().database_url)
