"""What text the services accept: no control characters.

PostgreSQL cannot store U+0000 in text, and the other C0 and C1 control characters (and
lone UTF-16 surrogates, which UTF-8 cannot encode) have no place in a name, an address or
a reason: they only hide or garble what a reader sees. Tab, line feed and carriage return
are allowed, since free text (findings, reasons, notes) legitimately has lines. The kit
refuses such text in every request (``kit.text_input``); an import calls
:func:`find_control_characters` on each cell, to make it a row error.
"""

from __future__ import annotations

import re

from pydantic import StringConstraints

#: C0 except tab, LF and CR; DEL; C1; lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same without the exceptions: for one-line values (a spreadsheet cell).
_FORBIDDEN_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
ALLOWED_CONTROLS = "tab, line feed and carriage return"


def control_character(text: str, *, one_line: bool = False) -> tuple[str, int] | None:
    """The first refused character of ``text`` as (``U+0000``, 1-based position), or None.
    ``one_line``: tab and line breaks are refused too."""
    found = (_FORBIDDEN_IN_A_LINE if one_line else _FORBIDDEN).search(text)
    return None if found is None else (f"U+{ord(found.group()):04X}", found.start() + 1)


def find_control_characters(text: str) -> str | None:
    """The reason ``text`` is refused (the first control character, by code point and
    position), or None when it is acceptable."""
    found = control_character(text)
    if found is None:
        return None
    return (
        f"contains the control character {found[0]} at position {found[1]}; text may not "
        f"contain control characters (only {ALLOWED_CONTROLS} are allowed)"
    )


def non_blank(max_length: int) -> StringConstraints:
    """Constraints of a required free text (a reason, a note): surrounding blanks dropped,
    then at least one character, at most ``max_length``. ``Annotated[str, non_blank(300)]``."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)
