"""Service settings from the environment (pydantic-settings).

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``
(``REGISTRY_``, ``GATEWAY_`` …). Settings every service shares (NATS, auth, telemetry)
may also be given without the prefix: ``REGISTRY_NATS_URL`` wins over ``NATS_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kit.auth import DEFAULT_AUDIENCE, MAX_TOKEN_LIFETIME


class _SharedEnvSource(EnvSettingsSource):
    """Reads the shared fields from unprefixed variables (``NATS_URL``)."""

    def __init__(self, settings_cls: type[BaseSettings], shared: frozenset[str]) -> None:
        super().__init__(settings_cls, env_prefix="")
        self._shared = shared

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in self._shared:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class ServiceSettings(BaseSettings):
    """What every service needs. Subclasses set ``model_config = SettingsConfigDict(env_prefix=...)``."""

    model_config = SettingsConfigDict(extra="ignore", use_attribute_docstrings=True)

    #: Fields that may come from an unprefixed variable as a fallback.
    shared_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "nats_url",
            "nats_stream_replicas",
            "auth_jwks_url",
            "auth_public_key_file",
            "auth_issuer",
            "auth_audience",
            "auth_max_token_lifetime_hours",
            "otel_exporter",
            "outbox_sweep_seconds",
            "log_level",
            "timezone",
        }
    )

    service_name: str = "service"
    """Name used in logs, metrics and traces."""
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    """SQLAlchemy URL of this service's own database (asyncpg driver)."""
    database_pool_size: int = 20
    """Connections kept in the pool (as many again may be opened under load)."""
    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server(s) with JetStream."""
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    """Replicas of the streams this service creates (3 on a NATS cluster)."""
    auth_jwks_url: str | None = None
    """JWKS URL of the token issuer (an OIDC provider such as Keycloak)."""
    auth_public_key_file: Path | None = None
    """Or: the local issuer's public key (PEM), as `make run` sets it."""
    auth_issuer: str = "jingzhun-local"
    """Required `iss` of tokens."""
    auth_audience: str = Field(default=DEFAULT_AUDIENCE, min_length=1)
    """Required `aud` of tokens: the issuer must name this platform (an OIDC provider: an
    audience mapper on the platform's client); the local issuer writes the default."""
    auth_max_token_lifetime_hours: float = Field(
        default=MAX_TOKEN_LIFETIME.total_seconds() / 3600, gt=0, le=24 * 7
    )
    """Tokens valid longer than this (`exp` − `iat`) are refused."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body accepted; larger requests get 413."""
    otel_exporter: Literal["none", "otlp", "console"] = "none"
    """Where spans go; `otlp` reads the standard OTEL_EXPORTER_OTLP_* variables."""
    log_level: str = "INFO"
    """Python log level."""
    timezone: str = "Asia/Shanghai"
    """Time zone of the county: dates (publicity windows, effective months) are local dates."""
    outbox_sweep_seconds: float = 5.0
    """Outbox relay: NOTIFY wakes it at once; this sweep catches anything a lost NOTIFY missed."""
    outbox_batch_size: int = Field(default=200, ge=1, le=5000)
    """Outbox rows claimed and published per round (pipelined)."""
    outbox_retention_hours: float = Field(default=168.0, ge=0)
    """Published outbox rows are deleted after this long (JetStream keeps the events)."""
    consumer_max_deliver: int = 5
    """Deliveries of a failing event before it goes to the dead-letter subject."""
    consumer_ack_wait_seconds: float = 30.0
    """Time a delivered event may stay unacknowledged before JetStream redelivers it."""
    consumer_batch_size: int = Field(default=1000, ge=1, le=5000)
    """Events a consumer fetches and applies per transaction while it catches up (a live
    event arriving alone is applied alone, at once)."""
    consumer_inbox_retention_hours: float = Field(default=168.0, gt=0)
    """Processed event ids are forgotten after this long (an older redelivery is still
    refused by its aggregate's sequence)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = _SharedEnvSource(settings_cls, cls.shared_fields)
        return init_settings, env_settings, shared, dotenv_settings, file_secret_settings
