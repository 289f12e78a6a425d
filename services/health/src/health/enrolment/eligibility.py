"""Who is subsidised (四类人员, DOMAIN §4.1): a pure rule over what the registry said."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol

from contracts.enums import AssistanceType
from contracts.poverty import PovertyFacts, is_registered_poor


class SubsidyCategory(StrEnum):
    """四类人员: whose premium is paid for them (资助参保, DOMAIN §4.1)."""

    registered_poor = "registered_poor"  # 建档立卡贫困人口
    dibao = "dibao"  # 低保对象
    tekun = "tekun"  # 特困供养人员
    severe_disability = "severe_disability"  # 重度残疾人 (残疾等级 一、二级)


class Person(PovertyFacts, Protocol):
    """What the rule reads of a person, as the registry last said (the persons read model)."""

    @property
    def in_household(self) -> bool: ...
    @property
    def assistance_type(self) -> str | None: ...
    @property
    def disability_level(self) -> int | None: ...


#: 重度残疾: 残疾等级 一级 and 二级.
SEVERE_DISABILITY_LEVELS = frozenset({1, 2})


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
