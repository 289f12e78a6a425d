"""Personal data out of events for callers without ``pii:read`` (dashboards).

Dashboards are wall screens and third-party displays: they get ids, region codes, states,
dates, flags and counts, never a person. The rules look at the *shape* of the data, not at
a list of event types, so a field added to an event later is judged the same way:

1. a key naming personal data (name, ID number, birth date, phone, address, income, health
   detail, free-text notes …) is dropped, whatever its value, in any nesting depth;
2. a string value is kept only if it reads like a code (printable ASCII without spaces:
   enum values, ids, dates, amounts). Names, addresses and free text are Chinese or have
   spaces, so they go even under an innocent key (``work_unit``, a new ``contact``);
3. a code-like string that looks like a resident ID number (masked or not) or a mobile
   number is dropped too.

Keys ending in ``id``/``ids`` are opaque identifiers and stay (rules 2 and 3 still apply).
"""

from __future__ import annotations

import functools
import re
from typing import Any

_PERSONAL_KEY = re.compile(
    r"(^|_)(name|names|phone|phones|mobile|telephone|tel|birth|birthday|address|email|"
    r"income|incomes|asset|assets|disease|diagnosis|disability|note|notes|remark|remarks|"
    r"comment|comments|account|bank|photo)(_|$)|id_?number|id_?card",
    re.IGNORECASE,
)
_IDENTIFIER_KEY = re.compile(r"(^|_)ids?$", re.IGNORECASE)
_CODE_LIKE = re.compile(r"^[\x21-\x7e]*$")  # printable ASCII, no whitespace
# 15 or 18 characters of digits (X last), any of them masked with '*'.
_ID_NUMBER_LIKE = re.compile(r"(?<![0-9A-Za-z*])[0-9*]{14}(?:[0-9*]{3})?[0-9Xx*](?![0-9A-Za-z*])")
_MOBILE_LIKE = re.compile(r"(?<![0-9*])1[3-9][0-9][0-9*]{4}[0-9]{4}(?![0-9*])")
#: Either, in one pass over the string.
_PERSONAL_NUMBER = re.compile(f"{_ID_NUMBER_LIKE.pattern}|{_MOBILE_LIKE.pattern}")

#: CloudEvents extension telling the client the event was redacted.
REDACTED_EXTENSION = "redacted"


@functools.lru_cache(maxsize=4096)
def is_personal_key(key: str) -> bool:
    """Events have few distinct keys, judged once each (every event the gateway reads is
    redacted for the public feed: this is on the consumer's path)."""
    return not _IDENTIFIER_KEY.search(key) and bool(_PERSONAL_KEY.search(key))


def is_safe_string(value: str) -> bool:
    return bool(_CODE_LIKE.match(value)) and not _PERSONAL_NUMBER.search(value)


_DROP = object()


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if is_personal_key(str(key)):
                continue
            cleaned = _walk(item)
            if cleaned is not _DROP:
                kept[key] = cleaned
        return kept
    if isinstance(value, list):
        return [item for item in map(_walk, value) if item is not _DROP]
    if isinstance(value, str):
        return value if is_safe_string(value) else _DROP
    return value  # numbers, booleans, None


def redact(document: Any) -> Any:
    """A copy of a JSON document (a CloudEvent with its data) without personal data.

    A dropped list entry shortens the list: only strings are ever dropped from lists
    (e.g. names), while members stay as objects, so member counts are kept."""
    cleaned = _walk(document)
    return None if cleaned is _DROP else cleaned


def redact_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The whole envelope is walked: its attributes are codes and survive, and an
    extension added later is judged like the data."""
    cleaned = redact(envelope)
    cleaned[REDACTED_EXTENSION] = True
    return cleaned
