"""Who may call the health service: its typed dependencies, declared once (ARCHITECTURE §6).

An endpoint names one of these as the type of its caller (``actor: HealthRead``); the
route audit reads the scopes from it. Which roles hold which scopes is deployment data
(services/roles.toml), not code."""

from __future__ import annotations

from typing import Annotated

from kit.auth import Principal, requires

#: Reads enrolments, claims, certificates, cases and reports (医保查询).
HealthRead = Annotated[Principal, requires("health:read")]
#: Records enrolments, claims, certificates, cases, dialysis sessions and doctors.
HealthWrite = Annotated[Principal, requires("health:write")]
#: Changes policy data, such as the list of critical diseases (大病目录).
PolicyWrite = Annotated[Principal, requires("policy:write")]
#: Every role that reads a household's status (the gateway forwards the caller's token).
StatusRead = Annotated[Principal, requires("status:read")]
