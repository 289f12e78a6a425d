"""Test data of the education service, shared with the cross-service tests (importable as
``education_testdata``: the root pyproject.toml puts this folder on pytest's path)."""

from __future__ import annotations

import datetime as dt

from registry_testdata import household_body, new_id_number

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


def household_with_a_pupil(name: str = "马小军", born: dt.date = dt.date(2016, 5, 1)) -> dict:
    """A registry household of two adults and a child of compulsory-education age (for the
    registry's ``POST /households``)."""
    body = household_body(members=2)
    body["members"].append(
        {
            "name": name,
            "id_number": new_id_number(born),
            "relation": "child",
            "labour_capacity": "none",
        }
    )
    return body
