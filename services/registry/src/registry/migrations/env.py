"""Alembic environment of the registry (run by devstack, tests, or `alembic`)."""

from kit.migrations import run_migrations
from registry.config import RegistrySettings
from registry.models import metadata

run_migrations(metadata, RegistrySettings().database_url)
