"""Region helpers shared by the health reports."""

from __future__ import annotations


def child_code(region_code: str, length: int) -> str:
    """The 12-digit code of the region one level down that ``region_code`` lies in."""
    return region_code[:length].ljust(12, "0")


def rate(part: int, whole: int) -> float | None:
    """A ratio to 4 places (98.6% as 0.9857), none of nothing."""
    return round(part / whole, 4) if whole else None
