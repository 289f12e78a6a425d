"""Registry settings: environment variables prefixed ``REGISTRY_``."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/registry"
    #: Key of the keyed hash (HMAC-SHA256) used to look up and de-duplicate ID numbers.
    pii_hash_key: SecretStr | None = None
    #: Fernet key encrypting ID numbers at rest (``Fernet.generate_key()``).
    pii_encryption_key: SecretStr | None = None
