"""The registry's own enumerations keep their Chinese labels in the shared table."""

from __future__ import annotations

from contracts.enums import LABELS, describe
from registry.enums import Asset, IncomeType, MemberChangeCause


def test_labels_of_enums_sharing_a_value_stay_apart():
    assert LABELS.get(IncomeType.business) == "经营性收入"
    assert LABELS.get(Asset.business) == "经营实体"


def test_the_registrys_enums_are_described_with_their_labels():
    assert describe(MemberChangeCause).startswith("`birth` 出生, `death` 死亡")
