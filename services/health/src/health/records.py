"""What the health service's records take from its persons: the fields every event about a
person's record carries, and its persons through the persons library (reading records by
region is :mod:`kit.records`; a record's fields from its person, :func:`persons.of_person`)."""

from __future__ import annotations

from typing import Any

from health.models import Person
from persons import Persons


def event_refs(record: Any, policy_year: int) -> dict[str, Any]:
    """The fields every health event about a person's record carries: whose household, whose
    person, where, and the policy year it counts in."""
    return dict(
        household_id=record.household_id,
        person_id=record.person_id,
        region_code=record.region_code,
        policy_year=policy_year,
    )


#: Health's persons (the registry's households and members, DOMAIN §4.1): kept from the
#: registry's events and read in the caller's region by the persons library.
registry_persons = Persons(Person)
