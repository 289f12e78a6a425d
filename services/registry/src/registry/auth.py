"""Who may call the registry: its typed dependencies, declared once (ARCHITECTURE §6).

An endpoint names one of these as the type of its caller (``actor: RegistryRead``); the
route audit reads the scopes from it. Which roles hold which scopes is deployment data
(services/roles.toml), not code."""

from __future__ import annotations

from typing import Annotated

from kit.auth import Principal, requires

#: Reads households, members, regions, workflow and monitoring (登记查询).
RegistryRead = Annotated[Principal, requires("registry:read")]
#: Reads what names personal data, such as red flags naming assets and income (DOMAIN §9).
RegistryPiiRead = Annotated[Principal, requires("registry:read", "pii:read")]
#: Changes the register: households, members, helpers, imports, workflow steps.
RegistryWrite = Annotated[Principal, requires("registry:write")]
#: Every role that reads a household's status (the gateway forwards the caller's token).
StatusRead = Annotated[Principal, requires("status:read")]
