"""The registry's household snapshots as their events carry them, for the tests of every
service that consumes them (the gateway, the persons library, the services to come): one
builder, so a field added to the contract is added once."""

from __future__ import annotations

import uuid
from typing import Any

VILLAGE = "622924100201"


def registry_member(name: str = "马建国", relation: str = "head", **extra: Any) -> dict:
    """A member of a household snapshot (``MemberSnapshot``'s fields)."""
    fields = dict(
        member_id=uuid.uuid4(),
        name=name,
        has_id_number=True,
        gender="male",
        birth_date="1970-01-01",
        relation=relation,
        labour_capacity="able",
    )
    return {**fields, **extra}


def registry_household(
    household_id: uuid.UUID, members: list[dict] | None = None, **overrides: Any
) -> dict:
    """A household snapshot's payload (``HouseholdSnapshot``), by default one head in
    :data:`VILLAGE`."""
    fields = dict(
        household_id=household_id,
        region_code=VILLAGE,
        group_no=1,
        poverty_state="registered",
        assistance_type="general",
        monitoring_category="none",
        causes=["illness"],
        primary_cause="illness",
        identified_year=2016,
        per_capita_net_income="2500.00",
        members=members if members is not None else [registry_member()],
    )
    return {**fields, **overrides}
