"""Health's persons, through the persons library (reading records by region is
:mod:`kit.records`; a record's fields from its person, :func:`persons.of_person`; those of
an event about it, :func:`persons.event_refs`)."""

from __future__ import annotations

from health.models import Person
from persons import Persons

#: Health's persons (the registry's households and members, DOMAIN §4.1): kept from the
#: registry's events and read in the caller's region by the persons library.
registry_persons = Persons(Person)
