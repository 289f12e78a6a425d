"""Resident ID number (公民身份号码, GB 11643-1999), validated with python-stdnum.

18 characters: 6 address + 8 birth date + 3 sequence (odd = male) + check digit. The
address code is checked against the division codes valid in the birth year, so a child
born after a county was renamed carries the new code. 15-digit legacy numbers are rejected.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from contracts.enums import Gender

_REASONS: dict[type[Exception], str] = {
    stdnum_errors.InvalidLength: "must be 18 characters (15-digit legacy numbers are not accepted)",
    stdnum_errors.InvalidFormat: "the first 17 characters must be digits",
    stdnum_errors.InvalidChecksum: "check digit does not match (GB 11643)",
    stdnum_errors.InvalidComponent: "birth date or address code is not valid",
}


def _plain(number: str) -> bool:
    """18 characters, 17 ASCII digits and a digit or X (a regex costs more, and this runs
    once per person of a county import)."""
    return (
        len(number) == 18
        and number.isascii()
        and number[:17].isdigit()
        and number[17] in "0123456789X"
    )


@functools.lru_cache(maxsize=65536)
def _place_valid(address: str, year: int) -> bool:
    """Whether the address code was a valid division code in that birth year (cached: the
    division table lookup dominates validation, and a county file repeats a few codes).
    A code stdnum knows only above county level (a prefecture, ``622902``) makes it raise
    ``KeyError``: such a code is no place of birth either, so any failure means not valid."""
    try:
        ric.get_birth_place(f"{address}{year:04d}0101" + "0000")
    except Exception:  # noqa: BLE001 - stdnum's lookup is not total (KeyError, …)
        return False
    return True


def _validate(number: str) -> None:
    """``ric.validate`` with the same checks in the same order, the place lookup cached."""
    if not _plain(number):
        ric.validate(number)  # length or format error, with stdnum's own exception
    if number[-1] != ric.calc_check_digit(number):
        raise stdnum_errors.InvalidChecksum()
    born = _birth_date(number)
    if not _place_valid(number[:6], born.year):
        raise stdnum_errors.InvalidComponent()


def normalise_resident_id(value: str) -> str:
    """The number as stored: no spaces or separators, upper-case X. Not validated."""
    number = value.strip().upper()
    return number if _plain(number) else ric.compact(number).upper()


def validate_resident_id(value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised number (upper-case X) or raise ValueError with the reason."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    try:
        number = normalise_resident_id(value)
        _validate(number)
    except stdnum_errors.ValidationError as exc:
        reason = next((r for t, r in _REASONS.items() if isinstance(exc, t)), "invalid number")
        raise ValueError(f"invalid resident ID number: {reason}") from None
    except Exception:  # noqa: BLE001 - stdnum is not total on crafted input: never a 500
        raise ValueError("invalid resident ID number: not a valid GB 11643 number") from None
    if birth_date(number) > (today or dt.date.today()):
        raise ValueError("invalid resident ID number: birth date is in the future")
    return number


def _birth_date(number: str) -> dt.date:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise stdnum_errors.InvalidComponent() from None


def birth_date(number: str) -> dt.date:
    return _birth_date(number)


def gender(number: str) -> Gender:
    return Gender.male if int(number[16]) % 2 == 1 else Gender.female


def check_digit(first17: str) -> str:
    """The GB 11643 check digit for 17 leading digits."""
    return ric.calc_check_digit(first17 + "0")


#: Characters a masked number shows at each end: ``6229*************X``.
MASK_SHOWN = (4, 1)


def mask(number: str) -> str:
    """First 4 and last 1 characters visible: ``6229*************X``.

    The hidden digits must stay unguessable even with what callers without ``pii:read``
    see (gender, birth year, county): the first 4 are the province and prefecture, known
    from the county anyway, and the check character rules out only ten sequences in
    eleven, leaving about 16,600 candidates (ARCHITECTURE §6.3). The old mask, showing the
    last 4, gave the number back from the birth date alone. Masking a masked number (also
    one in the old form) gives the same mask."""
    head, tail = MASK_SHOWN
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def mask_name(name: str) -> str:
    """A name as a public notice shows it: first and last character, ``张*明``, ``张*``."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


ResidentId = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    AfterValidator(validate_resident_id),
    Field(
        min_length=18,
        max_length=18,
        description="18位公民身份号码 (GB 11643); masked in responses unless the caller holds pii:read",
        examples=["11010519491231002X"],
    ),
]


def compose(address_code: str, born: dt.date, sequence: int) -> str:
    """Build a valid number from its parts (test data, demo data): sequence 0–999, odd = male."""
    first17 = f"{address_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)
