"""The education service's copy of the registry's persons (ARCHITECTURE §2.1): who lives in
which household, with the household's poverty facts, learnt from the registry's events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from education.models import Person
from persons import Persons

registry_persons = Persons(Person)


async def persons_changed(session: AsyncSession, persons: list[Person]) -> None:
    """Called once per consumer transaction with the persons of every household applied.
    Education keeps nothing derived from them: whether a child is of compulsory-education
    age, and so the 义务教育有保障 dimension, is worked out from the persons when it is
    read."""
