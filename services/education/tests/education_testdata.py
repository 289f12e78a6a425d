"""Test data of the education service, shared with the cross-service tests (importable as
``education_testdata``: the root pyproject.toml puts this folder on pytest's path)."""

from __future__ import annotations

COUNTY = "622924000000"  # 广河县
TOWNSHIP = "622924100000"
OTHER_COUNTY = "622925000000"


def student_body(person_id: str, **fields) -> dict:
    """A registration: a primary-school pupil enrolled this term, unless ``fields`` say
    otherwise."""
    return {
        "person_id": person_id,
        "school_name": "广河县城关小学",
        "stage": "primary",
        "grade": 3,
        "status_since": "2026-09-01",
        "responsible_teacher": "王老师",
        **fields,
    }
