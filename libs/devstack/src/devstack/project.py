"""The project's list of services (``services/services.toml``), its demo roles
(``services/roles.toml``) and its data folder."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from kit.auth import issue_token

if TYPE_CHECKING:
    from devstack.nats_config import NatsPasswords


def repo_root() -> Path:
    """The repository root: from JINGZHUN_ROOT, the working directory, or this file."""
    candidates = [os.environ.get("JINGZHUN_ROOT"), os.getcwd(), *Path(__file__).resolve().parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "services" / "services.toml").exists():
            return Path(candidate).resolve()
    raise FileNotFoundError(
        "services/services.toml not found; run from the repository or set JINGZHUN_ROOT"
    )


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    package: str
    port: int
    title: str
    department: str = "—"
    stream: str | None = None
    #: Has a demo-data loader (``python -m <package>.demo``) run before the services start.
    demo: bool = False
    #: Has a demo-data loader run once every service is ready (it needs the others' events).
    demo_after_start: bool = False
    #: Answers ``GET /households/{id}/summary`` (asked by the gateway's fresh mode).
    summary: bool = False
    #: Secret settings generated once per data folder (without the service prefix).
    secrets: tuple[str, ...] = field(default=())
    #: Services whose HTTP API it calls: the base URL of each is its setting
    #: ``<NAME>_<OTHER>_URL`` (education's ``EDUCATION_REGISTRY_URL``), generated.
    calls: tuple[str, ...] = field(default=())

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"

    @property
    def k8s_name(self) -> str:
        """Its name in Kubernetes (objects, host): DNS labels allow no underscore."""
        return self.name.replace("_", "-")

    @property
    def app_factory(self) -> str:
        return f"{self.package}.main:create_app"


def token_terms() -> dict[str, Any]:
    """Issuer, audience and lifetime of the local issuer's tokens: what the services, given
    the same environment, will require (``AUTH_ISSUER``, ``AUTH_AUDIENCE``,
    ``AUTH_MAX_TOKEN_LIFETIME_HOURS``)."""
    import datetime as dt

    from kit.auth import MAX_TOKEN_LIFETIME
    from kit.settings import ServiceSettings

    settings = ServiceSettings()
    longest = dt.timedelta(hours=settings.auth_max_token_lifetime_hours)
    return {
        "issuer": settings.auth_issuer,
        "audience": settings.auth_audience,
        "ttl": min(MAX_TOKEN_LIFETIME, longest),
    }


def gateway_sources(
    services: list[ServiceInfo],
    base_url: Callable[[ServiceInfo], str] = lambda s: f"http://127.0.0.1:{s.port}",
) -> str:
    """``GATEWAY_SOURCES``: where the gateway's fresh mode asks for each service's summary
    (by default on the local stack; compose and Kubernetes give their service names)."""
    return json.dumps({s.name: base_url(s) for s in services if s.summary})


def service_urls(
    service: ServiceInfo,
    services: list[ServiceInfo],
    base_url: Callable[[ServiceInfo], str] = lambda s: f"http://127.0.0.1:{s.port}",
) -> dict[str, str]:
    """``<NAME>_<OTHER>_URL`` of each service ``service`` calls (services.toml ``calls``):
    by default on the local stack (compose and Kubernetes give their service names)."""
    by_name = {s.name: s for s in services}
    return {
        f"{service.env_prefix}{other.upper()}_URL": base_url(by_name[other])
        for other in service.calls
    }


def load_services(root: Path | None = None) -> list[ServiceInfo]:
    path = (root or repo_root()) / "services" / "services.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        ServiceInfo(
            name=name,
            **{
                **spec,
                "secrets": tuple(spec.get("secrets", ())),
                "calls": tuple(spec.get("calls", ())),
            },
        )
        for name, spec in data.items()
    ]


@functools.cache
def load_roles(root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The local issuer's demo roles and the scopes each one holds (``services/roles.toml``,
    DOMAIN §9)."""
    path = (root or repo_root()) / "services" / "roles.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: tuple(spec["scopes"]) for name, spec in data["roles"].items()}


def all_scopes() -> tuple[str, ...]:
    """Every scope some role holds (a token for probing every route)."""
    return tuple(sorted({scope for scopes in load_roles().values() for scope in scopes}))


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def role_token(
    private_key_pem: bytes,
    *,
    role: str,
    region: str,
    scopes: tuple[str, ...] | None = None,
    **kwargs: Any,
) -> str:
    """A local issuer's token for a demo role, with the role's scopes (or explicit ones),
    limited to ``region``'s subtree; ``kwargs`` go to :func:`kit.auth.issue_token`."""
    if scopes is None:
        roles = load_roles()
        if role not in roles:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(roles)}")
        scopes = roles[role]
    return issue_token(private_key_pem, role=role, region=region, scopes=scopes, **kwargs)


class DataDir:
    """Everything ``make run`` keeps between runs: databases, streams, keys, logs."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    pg = property(lambda self: self.path / "postgres")
    nats = property(lambda self: self.path / "nats")
    keys = property(lambda self: self.path / "keys")
    logs = property(lambda self: self.path / "logs")

    def create(self) -> None:
        for folder in (self.path, self.logs, self.keys):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def secrets_file(self) -> Path:
        return self.path / "secrets.json"

    def _secrets(self, wanted: dict[str, Callable[[], str]]) -> dict[str, str]:
        """Every stored secret, after adding those of ``wanted`` (name → generator) missing."""
        store = self.secrets_file
        values: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
        missing = {name: make() for name, make in wanted.items() if name not in values}
        if missing:
            values.update(missing)
            self.path.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(values, indent=2))
            store.chmod(0o600)
        return values

    def secrets_for(self, services: list[ServiceInfo]) -> dict[str, str]:
        """Environment variables holding generated secrets, created on first use and kept."""
        wanted = {
            service.env_prefix + name: (
                # A Fernet key is 32 random bytes, url-safe base64: fit for HMAC and Fernet alike.
                (lambda: Fernet.generate_key().decode())
                if "ENCRYPTION" in name
                else (lambda: secrets.token_urlsafe(32))
            )
            for service in services
            for name in service.secrets
        }
        values = self._secrets(wanted)
        return {name: values[name] for name in wanted}

    def nats_passwords(self) -> NatsPasswords:
        """The NATS users' passwords of this data folder (kept in secrets.json)."""
        from devstack.nats_config import (  # imported here: nats_config imports this module
            DASHBOARD_COUNTIES,
            SERVICES_PASSWORD_VARIABLE,
            NatsPasswords,
            dashboard_user,
            new_password,
            password_variable,
        )

        variables = {
            county: password_variable(dashboard_user(county)) for county in DASHBOARD_COUNTIES
        }
        wanted = [SERVICES_PASSWORD_VARIABLE, *variables.values()]
        values = self._secrets({name: new_password for name in wanted})
        return NatsPasswords(
            services=values[SERVICES_PASSWORD_VARIABLE],
            dashboards={county: values[name] for county, name in variables.items()},
        )
