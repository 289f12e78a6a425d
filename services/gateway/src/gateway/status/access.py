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
from kit.errors import Problem

NAMES_SCOPE = "pii:read"
HELPER_CLAIM = "helper_id"
HELPER_ROLE = "helper"


def shows_names(actor: Principal) -> bool:
    return actor.has(NAMES_SCOPE)


def is_helper(actor: Principal) -> bool:
    """The caller's view is limited to the households assigned to them."""
    return HELPER_CLAIM in actor.claims or HELPER_ROLE in actor.roles


def helper_id(actor: Principal) -> uuid.UUID:
    """The registry's helper id of the caller: the token's ``helper_id`` claim."""
    try:
        return uuid.UUID(str(actor.claims.get(HELPER_CLAIM)))
    except ValueError:
        raise Problem(
            403,
            "Not a helper",
            "this list is for helpers (帮扶责任人): the token carries no valid `helper_id` claim",
            code="NOT_A_HELPER",
        ) from None


def assigned_only(actor: Principal) -> uuid.UUID | None:
    """The helper whose households alone the caller may see; None: no such limit."""
    return helper_id(actor) if is_helper(actor) else None
