"""The records a request names: the education service's copy of the registry's persons
(ARCHITECTURE §2.1: who lives in which household, with the household's poverty facts, learnt
from the registry's events), and its students."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from education import errors
from education.models import Person, Student
from kit.auth import Principal
from persons import Persons

registry_persons = Persons(Person)


async def named_student(
    session: AsyncSession, student_id: uuid.UUID, actor: Principal, *, for_update: bool = False
) -> Student:
    """The student a request body names (``body.student_id``), in the caller's region; one
    unknown or outside the region is a 422 UNKNOWN_STUDENT (the body is at fault).
    ``for_update`` locks the row (another change of the student waits)."""
    student = await session.get(Student, student_id, with_for_update=for_update)
    if student is None or not actor.can_access(student.region_code):
        raise errors.UNKNOWN_STUDENT("no student with this id in your region")
    return student
