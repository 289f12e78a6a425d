"""The registry's member snapshot: no ID fragment, and old events still apply."""

from __future__ import annotations

import uuid

from contracts.events.registry import HouseholdSnapshot, MemberSnapshot


def _member(**identity) -> dict:
    return dict(
        member_id=str(uuid.uuid4()),
        name="马小宝",
        gender="female",
        birth_date="2026-07-01",
        relation="grandchild",
        labour_capacity="none",
        **identity,
    )


def test_a_member_carries_whether_there_is_an_id_number_and_no_part_of_it():
    member = MemberSnapshot.model_validate(_member(has_id_number=False))
    assert member.has_id_number is False
    assert "id_number_masked" not in member.model_dump()
    assert "id_number_masked" not in MemberSnapshot.model_json_schema()["properties"]


def test_events_published_before_the_change_still_validate():
    """Old events on the streams carry ``id_number_masked`` (None while id_pending)."""
    pending = MemberSnapshot.model_validate(_member(id_number_masked=None))
    numbered = MemberSnapshot.model_validate(_member(id_number_masked="6229**********0172"))
    assert pending.has_id_number is False and numbered.has_id_number is True
    assert "id_number_masked" not in numbered.model_dump()
    household = HouseholdSnapshot.model_validate(
        dict(
            household_id=str(uuid.uuid4()),
            region_code="622924100201",
            group_no=None,
            poverty_state="registered",
            assistance_type="general",
            monitoring_category="none",
            causes=["illness"],
            primary_cause="illness",
            identified_year=2016,
            per_capita_net_income=None,
            members=[
                _member(id_number_masked="6229**********0172"),
                _member(id_number_masked=None),
            ],
        )
    )
    assert [m.has_id_number for m in household.members] == [True, False]
