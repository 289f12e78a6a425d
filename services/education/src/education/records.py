"""The education service's copy of the registry's persons (ARCHITECTURE §2.1): who lives in
which household, with the household's poverty facts, learnt from the registry's events."""

from __future__ import annotations

from education.models import Person
from persons import Persons

registry_persons = Persons(Person)
