"""NATS users and their permissions: one definition for the embedded server (``make run``
and the test fixtures), docker compose and Kubernetes.

- ``services``: every service (outbox relay, consumers, stream provisioning); full rights.
- ``dashboard-<county>`` (``dashboard-622924``), one per county of
  :data:`DASHBOARD_COUNTIES`: read-only, and only the gateway's redacted public feed of
  that county (``public.62.29.24.>``, see ``contracts.public``). The services' raw event
  subjects (names, ID numbers, incomes …), other counties' feeds, the JetStream API,
  request/reply inboxes and dead letters are refused; it may publish nothing.

Passwords are never written into a config file: the config refers to environment
variables (``NATS_SERVICES_PASSWORD``, ``NATS_DASHBOARD_622924_PASSWORD`` …; nats-server
resolves ``$NAME`` from the environment), which the runner, compose or the Kubernetes
Secret set. Services receive theirs inside their NATS URL
(``nats://services:<password>@host:4222``).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from contracts.enums import RegionLevel
from contracts.events import CATALOGUE
from contracts.public import public_filter
from contracts.region import region_level, validate_region_code
from devstack.project import ServiceInfo, load_services
from kit.bus import DEAD_LETTER_PREFIX

SERVICES_USER = "services"
SERVICES_PASSWORD_VARIABLE = "NATS_SERVICES_PASSWORD"

#: The counties that get a dashboard user (12-digit county codes): 广河县, the demo county.
#: A deployment lists its own counties here and runs ``make generate``.
DASHBOARD_COUNTIES: tuple[str, ...] = ("622924000000",)

#: Generated files (``make generate``): the compose server's config and the Kubernetes one's.
COMPOSE_USERS_FILE = "deploy/nats/users.conf"
K8S_USERS_FILE = "deploy/k8s/base/nats-users.yaml"

#: Never readable by a dashboard, even should its allow list widen: the JetStream API and
#: acks, key-value and object stores, services' request/reply inboxes, system subjects
#: and dead letters (poison messages may hold anything); the producers' raw subjects are
#: added from the catalogue (:func:`dashboard_subscribe_deny`).
DASHBOARD_SUBSCRIBE_DENY = (
    "$JS.>",
    "$KV.>",
    "$O.>",
    "$SRV.>",
    "$SYS.>",
    "_INBOX.>",
    f"{DEAD_LETTER_PREFIX}.>",
)

_ALPHABET = string.ascii_letters + string.digits


def _county(code: str) -> str:
    validate_region_code(code)
    if region_level(code) is not RegionLevel.county:
        raise ValueError(f"{code} is not a county code (dashboard users are per county)")
    return code[:6]


def dashboard_user(county_code: str) -> str:
    """``dashboard-622924`` for county 622924000000."""
    return f"dashboard-{_county(county_code)}"


def password_variable(user: str) -> str:
    """The environment variable holding a user's password: ``NATS_DASHBOARD_622924_PASSWORD``."""
    return f"NATS_{user.upper().replace('-', '_')}_PASSWORD"


def new_password() -> str:
    """40 letters and digits, a letter first: nats-server reads an environment variable's
    value as config syntax, where a leading digit could make it a number."""
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(_ALPHABET) for _ in range(39)
    )


@dataclass(frozen=True)
class NatsPasswords:
    services: str
    #: county code → the password of its dashboard user
    dashboards: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, counties: tuple[str, ...] = DASHBOARD_COUNTIES) -> NatsPasswords:
        return cls(services=new_password(), dashboards={c: new_password() for c in counties})

    def environment(self) -> dict[str, str]:
        """The variables the config file refers to."""
        return {
            SERVICES_PASSWORD_VARIABLE: self.services,
            **{
                password_variable(dashboard_user(county)): password
                for county, password in self.dashboards.items()
            },
        }


def password_variables(counties: tuple[str, ...] = DASHBOARD_COUNTIES) -> list[str]:
    """Every password variable a config for ``counties`` refers to."""
    return [SERVICES_PASSWORD_VARIABLE] + [
        password_variable(dashboard_user(county)) for county in counties
    ]


def event_subjects(services: list[ServiceInfo] | None = None) -> list[str]:
    """``<producer>.>`` for every service that publishes events: those with a stream in
    services.toml and every producer in the event catalogue (planned services included)."""
    services = load_services() if services is None else services
    producers = {s.name for s in services if s.stream} | {s.producer for s in CATALOGUE.specs}
    return [f"{name}.>" for name in sorted(producers)]


def dashboard_subscribe_allow(county_code: str) -> list[str]:
    """A county's public feed and nothing else (a township's is inside it)."""
    return [public_filter(county_code)]


def dashboard_subscribe_deny(services: list[ServiceInfo] | None = None) -> list[str]:
    return [*event_subjects(services), *DASHBOARD_SUBSCRIBE_DENY]


def _quoted(items: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def authorization_block(
    services: list[ServiceInfo] | None = None, counties: tuple[str, ...] = DASHBOARD_COUNTIES
) -> str:
    """The ``authorization`` section of a nats-server config (passwords by variable)."""
    deny = _quoted(dashboard_subscribe_deny(services))
    dashboards = "".join(
        f"""    # 大屏 of county {county}: its redacted public feed only, publish nothing.
    {{
      user: "{dashboard_user(county)}"
      password: ${password_variable(dashboard_user(county))}
      permissions: {{
        publish: {{ deny: [">"] }}
        subscribe: {{
          allow: [{_quoted(dashboard_subscribe_allow(county))}]
          deny: [{deny}]
        }}
      }}
    }}
"""
        for county in counties
    )
    return f"""authorization {{
  users: [
    # Every service: publish and subscribe everything, JetStream API included.
    {{ user: {SERVICES_USER}, password: ${SERVICES_PASSWORD_VARIABLE} }}
{dashboards}  ]
}}
"""


_GENERATED = (
    "Generated by `make generate` from libs/devstack/src/devstack/nats_config.py; do not edit."
)


def compose_users_file() -> str:
    """deploy/nats/users.conf: the compose server's config (passwords from its environment)."""
    return (
        f"# NATS users for docker compose. {_GENERATED}\n"
        "# Passwords: the environment variables "
        f"{', '.join(password_variables())} of the nats container.\n\n" + authorization_block()
    )


def k8s_users_file() -> str:
    """deploy/k8s/base/nats-users.yaml: the same block as a ConfigMap, included by nats.conf."""
    body = "\n".join(f"    {line}" if line else "" for line in authorization_block().splitlines())
    return (
        f"# NATS users, included by nats.conf (see nats.yaml). {_GENERATED}\n"
        f"# Passwords: the Secret nats-users ({', '.join(password_variables())}).\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: nats-users\n"
        "data:\n"
        "  users.conf: |\n"
        f"{body}\n"
    )


def generated_files() -> dict[str, str]:
    return {COMPOSE_USERS_FILE: compose_users_file(), K8S_USERS_FILE: k8s_users_file()}


def embedded_config(
    store_dir: Path,
    port: int,
    monitor_port: int | None,
    services: list[ServiceInfo] | None = None,
    counties: tuple[str, ...] = DASHBOARD_COUNTIES,
) -> str:
    """The whole config of the embedded server (``make run``, tests)."""
    lines = [
        "# Written by devstack at every start of the embedded NATS server.",
        f'listen: "127.0.0.1:{port}"',
        *([f'http: "127.0.0.1:{monitor_port}"'] if monitor_port else []),
        f'jetstream {{ store_dir: "{store_dir}" }}',
        "",
    ]
    return "\n".join(lines) + authorization_block(services, counties)


def url_with_user(address: str, user: str, password: str) -> str:
    """``nats://host:port`` → ``nats://user:password@host:port``."""
    scheme, rest = address.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"
