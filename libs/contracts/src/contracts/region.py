"""12-digit statistical division code (统计用区划代码): ``PP CC DD TTT VVV``.

Province 2, city 2, county 2, township 3, village 3 digits. Higher levels are zero
padded (``622924000000`` is a county); ancestors are found by truncation.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from contracts.enums import RegionLevel

_DIGITS_12 = re.compile(r"^[0-9]{12}$")

# (level, first digit, end digit) of each block of the code
_BLOCKS: tuple[tuple[RegionLevel, int, int], ...] = (
    (RegionLevel.province, 0, 2),
    (RegionLevel.city, 2, 4),
    (RegionLevel.county, 4, 6),
    (RegionLevel.township, 6, 9),
    (RegionLevel.village, 9, 12),
)
_SIGNIFICANT_DIGITS = {level: end for level, _, end in _BLOCKS}


def validate_region_code(code: str) -> str:
    """Return the code if it is a well-formed 12-digit region code, else raise ValueError."""
    if not isinstance(code, str) or not _DIGITS_12.match(code):
        raise ValueError("region code must be exactly 12 digits (省2 市2 县2 乡3 村3)")
    if code[:2] == "00":
        raise ValueError("region code has no province part")
    # A zero block may only be followed by zero blocks: 62 00 24 … is not a region.
    seen_zero = False
    for _, start, end in _BLOCKS[1:]:
        block_is_zero = set(code[start:end]) == {"0"}
        if seen_zero and not block_is_zero:
            raise ValueError("region code has a non-zero level below a zero level")
        seen_zero = seen_zero or block_is_zero
    return code


def region_level(code: str) -> RegionLevel:
    """The administrative level of a (valid) region code."""
    for level, start, end in reversed(_BLOCKS):
        if set(code[start:end]) != {"0"}:
            return level
    return RegionLevel.province


def region_prefix(code: str) -> str:
    """The significant prefix of a code: every descendant's code starts with it."""
    level = region_level(code)
    return code[: _SIGNIFICANT_DIGITS[level]]


def child_prefix_length(code: str) -> int:
    """How many leading digits name a region one level below ``code`` (a village: its own)."""
    own = _SIGNIFICANT_DIGITS[region_level(code)]
    return next((end for _, _, end in _BLOCKS if end > own), own)


def parent_codes(code: str) -> list[str]:
    """Ancestors of a region, nearest last: province, city, county, township."""
    own = _SIGNIFICANT_DIGITS[region_level(code)]
    return [code[:end].ljust(12, "0") for _, _, end in _BLOCKS if end < own]


def parent_code(code: str) -> str | None:
    parents = parent_codes(code)
    return parents[-1] if parents else None


def is_within(code: str, ancestor: str) -> bool:
    """True if ``code`` is ``ancestor`` or lies in its subtree."""
    return code.startswith(region_prefix(ancestor))


def subject_tokens(code: str) -> list[str]:
    """The five NATS subject tokens of a region code: ``36.01.21.103.201``."""
    return [code[0:2], code[2:4], code[4:6], code[6:9], code[9:12]]


def region_subject_tokens(code: str) -> list[str]:
    """The subject tokens a (valid) region fixes for its subtree: county 622924000000 →
    ``62 29 24``, a village all five."""
    level = region_level(code)
    fixed = next(i for i, (block, _, _) in enumerate(_BLOCKS) if block == level) + 1
    return subject_tokens(code)[:fixed]


RegionCode = Annotated[
    str,
    AfterValidator(validate_region_code),
    Field(
        min_length=12,
        max_length=12,
        pattern=r"^[0-9]{12}$",
        description="12位统计用区划代码 (province 2, city 2, county 2, township 3, village 3)",
        examples=["622924100201"],
    ),
]
