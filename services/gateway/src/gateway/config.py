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
    sources: dict[str, str] = Field(default_factory=dict)
    """Base URL of each owning service asked in fresh mode, as JSON:
    ``{"registry": "http://registry:8001"}``. A dimension whose owner is not listed keeps
    the projection's state."""
    source_timeout_seconds: float = Field(1.0, gt=0)
    """Fresh mode: how long one service may take to answer."""
    fresh_deadline_seconds: float = Field(2.0, gt=0)
    """Fresh mode: when the answer is sent, whoever has not answered."""

    status_cache_size: int = Field(100_000, ge=0)
    """Households whose rendered status each process keeps in memory (about 2.4 KiB each;
    0 turns the cache off). Best at least the county's households: a read not held in
    memory takes the full way through the database."""

    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    """Live stream: idle seconds before an SSE heartbeat comment (keeps proxies open)."""
    stream_queue_size: int = Field(256, ge=1, le=100_000)
    """Live stream: events held in memory per connection (backpressure beyond it)."""
    stream_stall_seconds: float = Field(30.0, gt=0)
    """Live stream: a connection whose queue stays full this long ends (SLOW_CLIENT)."""
    stream_consumer_inactive_seconds: float = Field(120.0, gt=0)
    """Live stream: JetStream drops a consumer unread this long (a gateway that died)."""
    stream_max_connections_per_principal: int = Field(3, ge=1, le=1000)
    """Live stream: streams one caller (token subject) may hold open at once, per gateway
    process; one more is a 429 ``TOO_MANY_STREAMS``."""
    stream_replay_window_hours: float = Field(24.0, gt=0)
    """Live stream: how far back a resume position (``Last-Event-ID``) may lie; an older
    one is a 409 ``RESUME_TOO_OLD``."""
