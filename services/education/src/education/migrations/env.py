"""Alembic environment of the education service."""

from education.config import EducationSettings
from education.models import metadata
from kit.migrations import run_migrations

run_migrations(metadata, EducationSettings().database_url)
