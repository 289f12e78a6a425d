"""What a caller may see of household status (DOMAIN §9), decided in one place for the full
endpoints and the read from memory alike.

- Names of persons (the household head's) only with ``pii:read``: a dashboard counts and
  colours households, it does not need to know who lives in them.
- A helper (帮扶责任人: a token with a ``helper_id`` claim, or the ``helper`` role) sees only
  the households assigned to them; any other household answers as if absent.
"""

from __future__ import annotations

import uuid

from kit.auth import Principal

NAMES_SCOPE = "pii:read"


def shows_names(actor: Principal) -> bool:
    return actor.has(NAMES_SCOPE)


def assigned_only(actor: Principal) -> uuid.UUID | None:
    """The helper whose households alone the caller may see; None: no such limit."""
    return actor.helper_id() if actor.is_helper else None
