"""Gateway settings: environment variables prefixed ``GATEWAY_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    """Name used in logs, metrics and traces."""
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gateway"
    """SQLAlchemy URL of the gateway's own database (asyncpg driver)."""

    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    """Live stream: idle seconds before an SSE heartbeat comment (keeps proxies open)."""
    stream_queue_size: int = Field(256, ge=1, le=100_000)
    """Live stream: events held in memory per connection (backpressure beyond it)."""
    stream_stall_seconds: float = Field(30.0, gt=0)
    """Live stream: a connection whose queue stays full this long ends (SLOW_CLIENT)."""
    stream_consumer_inactive_seconds: float = Field(120.0, gt=0)
    """Live stream: JetStream drops a consumer unread this long (a gateway that died)."""
