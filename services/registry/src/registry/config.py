"""Registry settings: environment variables prefixed ``REGISTRY_``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    """Name used in logs, metrics and traces."""
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/registry"
    """SQLAlchemy URL of the registry's own database (asyncpg driver)."""
    pii_hash_key: SecretStr | None = None
    """Secret key of the HMAC-SHA256 that looks up and de-duplicates ID numbers (required)."""
    pii_encryption_key: SecretStr | None = None
    """Fernet key encrypting ID numbers at rest, `Fernet.generate_key()` (required)."""
    gateway_url: str = "http://127.0.0.1:8000"
    """Gateway base URL: the exit decision (县级审定) reads the household's status there."""
    gateway_timeout_seconds: float = 5.0
    """How long the exit decision waits for the gateway before refusing with 503."""
    import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest spreadsheet POST /imports accepts (64 MiB ≈ 400,000 persons as CSV); larger: the CLI."""
    import_chunk_households: int = Field(default=1000, ge=1, le=50_000)
    """Households per import transaction: a crash loses at most one chunk; a re-run completes it."""
    import_sync_max_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    """Uploads up to this size are imported while the request waits; larger ones in the background (202)."""
    import_max_stored_errors: int = Field(default=10_000, ge=0)
    """Error rows (and failed households) an import's report lists, the first by row (the counts are always complete)."""
    import_max_rows: int = Field(default=300_000, ge=1)
    """Rows an uploaded spreadsheet may have (about a county's registered persons); more: 413, nothing imported (the CLI has no limit)."""
    # 64 MiB of upload (import_max_bytes) of real XLSX, deflated some 3:1, is under 200 MiB.
    import_max_unpacked_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    """What an uploaded XLSX may unpack to (its zip directory's sizes); more: 413, nothing imported (the CLI has no limit)."""
    import_max_concurrent: int = Field(default=1, ge=1, le=100)
    """Imports (background or not) running at once for one county; another is refused with 429 and Retry-After."""
    import_workers: int = Field(default=0, ge=0, le=64)
    """Processes preparing chunks in the import CLI (0: one per CPU); the API imports in-process."""
