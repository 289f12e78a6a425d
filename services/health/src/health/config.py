"""Health settings: environment variables prefixed ``HEALTH_``."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class HealthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTH_", extra="ignore")

    service_name: str = "health"
    """Name used in logs, metrics and traces."""
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/health"
    """SQLAlchemy URL of the health service's own database (asyncpg driver)."""
