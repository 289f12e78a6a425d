"""Who counts as registered poor (建档立卡) on a day, as every department decides it from
what the registry last said of the household (DOMAIN §1.6). A pure rule."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from contracts.enums import REGISTERED_STATES, PovertyState


class PovertyFacts(Protocol):
    """What the rule reads of a person: the household's poverty state and its 脱贫不脱政策
    date (a service's persons read model)."""

    @property
    def poverty_state(self) -> str: ...
    @property
    def policy_continuity_until(self) -> dt.date | None: ...


_EXITED = frozenset({PovertyState.exited, PovertyState.exited_monitored})


def is_registered_poor(person: PovertyFacts, on: dt.date) -> bool:
    """建档立卡, including 脱贫不脱政策: an exited household keeps the policies until its
    continuity date (DOMAIN §1.6)."""
    state = PovertyState(person.poverty_state)
    if state not in REGISTERED_STATES:
        return False
    if state in _EXITED and person.policy_continuity_until is not None:
        return on <= person.policy_continuity_until
    return True
