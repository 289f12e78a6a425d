"""The persons library's problems (ARCHITECTURE §2.5), answered by every service that keeps
the registry's persons; ``docs/errors.md`` is generated from it."""

from __future__ import annotations

from kit.problems import ProblemType

UNKNOWN_PERSON = ProblemType(
    422,
    "UNKNOWN_PERSON",
    "Unknown person",
    "No person with this id in the caller's region (the registry's member id).",
    field="body.person_id",
)
