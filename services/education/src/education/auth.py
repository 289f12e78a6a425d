"""Who may call the education service: its typed dependencies, declared once (ARCHITECTURE §6).

An endpoint names one of these as the type of its caller (``actor: EducationRead``); the
route audit reads the scopes from it. Which roles hold which scopes is deployment data
(services/roles.toml), not code."""

from __future__ import annotations

from typing import Annotated

from kit.auth import Principal, requires

#: Reads the service's records.
EducationRead = Annotated[Principal, requires("education:read")]
#: Registers students and changes their records (教育局 staff).
EducationWrite = Annotated[Principal, requires("education:write")]
#: Reads a household's status (the gateway's fresh mode asks with the caller's token).
StatusRead = Annotated[Principal, requires("status:read")]
