"""Education (教育扶贫) settings: environment variables prefixed ``EDUCATION_``."""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class EducationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EDUCATION_", extra="ignore")

    service_name: str = "education"
    """Name used in logs, metrics and traces."""
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/education"
    """SQLAlchemy URL of the education service's own database (asyncpg driver)."""
    registry_url: str = "http://127.0.0.1:8001"
    """Base URL of the registry, asked to match a roster's ID numbers to persons
    (``POST /persons/matches``, with the caller's token). Generated from services.toml
    ``calls`` for ``make run``, compose and Kubernetes."""
    registry_timeout_seconds: float = Field(10.0, gt=0)
    """How long one match request to the registry may take."""
    roster_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """Largest roster POST /rosters accepts (a school's roster is far smaller)."""
    roster_max_rows: int = Field(default=5000, ge=1)
    """Rows a roster may have; more: 413, nothing imported."""
    roster_max_unpacked_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """What an uploaded XLSX roster may unpack to (its zip directory's sizes); more: 413."""
    reassess_at: dt.time = dt.time(0, 30)
    """When, each day in the county's time zone, every household's 义务教育有保障 is assessed
    again (a child who turns 6, or whose compulsory education ends, changes it with no
    record changing): one replica does it; the same as ``python -m education.reassess``."""
