"""Alembic environment of the gateway."""

from gateway.config import GatewaySettings
from gateway.models import metadata
from kit.migrations import run_migrations

run_migrations(metadata, GatewaySettings().database_url)
