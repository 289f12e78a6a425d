"""Who is subsidised (四类人员, DOMAIN §4.1): a pure rule over what the registry said."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol

from contracts.enums import REGISTERED_STATES, AssistanceType, PovertyState


class SubsidyCategory(StrEnum):
    """四类人员: whose premium is paid for them (资助参保, DOMAIN §4.1)."""

    registered_poor = "registered_poor"  # 建档立卡贫困人口
    dibao = "dibao"  # 低保对象
    tekun = "tekun"  # 特困供养人员
    severe_disability = "severe_disability"  # 重度残疾人 (残疾等级 一、二级)


class Person(Protocol):
    """What the rule reads of a person, as the registry last said (the persons read model)."""

    @property
    def poverty_state(self) -> str: ...
    @property
    def policy_continuity_until(self) -> dt.date | None: ...
    @property
    def in_household(self) -> bool: ...
    @property
    def assistance_type(self) -> str | None: ...
    @property
    def disability_level(self) -> int | None: ...


#: 重度残疾: 残疾等级 一级 and 二级.
SEVERE_DISABILITY_LEVELS = frozenset({1, 2})
_EXITED = frozenset({PovertyState.exited, PovertyState.exited_monitored})


def is_registered_poor(person: Person, on: dt.date) -> bool:
    """建档立卡, including 脱贫不脱政策: an exited household keeps the policies until its
    continuity date (DOMAIN §1.6)."""
    state = PovertyState(person.poverty_state)
    if state not in REGISTERED_STATES:
        return False
    if state in _EXITED and person.policy_continuity_until is not None:
        return on <= person.policy_continuity_until
    return True


def categories(
    person: Person, on: dt.date, subsidised: list[SubsidyCategory]
) -> list[SubsidyCategory]:
    """The subsidised categories the person belongs to on ``on``, in the policy's order.
    A person removed from their household keeps none."""
    if not person.in_household:
        return []
    holds = {
        SubsidyCategory.registered_poor: is_registered_poor(person, on),
        SubsidyCategory.dibao: person.assistance_type == AssistanceType.dibao,
        SubsidyCategory.tekun: person.assistance_type == AssistanceType.tekun,
        SubsidyCategory.severe_disability: person.disability_level in SEVERE_DISABILITY_LEVELS,
    }
    return [category for category in subsidised if holds[category]]
