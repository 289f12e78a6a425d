"""Test data of the education service, shared with the cross-service tests (importable as
``education_testdata``: the root pyproject.toml puts this folder on pytest's path)."""

from __future__ import annotations

COUNTY = "622924000000"  # 广河县
TOWNSHIP = "622924100000"
OTHER_COUNTY = "622925000000"
