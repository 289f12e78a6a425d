"""What a subscription reads: streams, NATS subject filters and resume positions.

Pure functions over plain data (no I/O), so region scoping and the resume token are
tested without a server. Subjects follow ARCHITECTURE §3:
``<service>.<aggregate>.<event>.<p>.<c>.<x>.<t>.<v>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from contracts.catalogue import Catalogue
from contracts.region import region_subject_tokens
from kit.bus import service_stream

_POSITION = re.compile(r"^([A-Z][A-Z0-9_]*):([0-9]{1,19})$")
MAX_TOKEN_LENGTH = 1000


class PlanError(ValueError):
    """Bad subscription input; ``field`` names the parameter (for a 422 problem)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class StreamSource:
    """One producing service's stream and the subjects read from it."""

    stream: str
    filter_subjects: tuple[str, ...]


def region_subject_suffix(region_code: str) -> str:
    """The region part of a subject filter: county 622924 → ``62.29.24.>``; a village
    fixes all five tokens (no wildcard)."""
    fixed = region_subject_tokens(region_code)
    return ".".join(fixed if len(fixed) == 5 else [*fixed, ">"])


def parse_types(values: Iterable[str] | None, catalogue: Catalogue) -> list[str] | None:
    """Event names from repeated and/or comma-separated ``types``; None means all."""
    if not values:
        return None
    known = {spec.name for spec in catalogue.specs}
    names: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name not in known:
                raise PlanError(
                    "query.types",
                    f"unknown event type {name[:100]!r}; use names from the event catalogue, "
                    "e.g. registry.household.state_changed",
                )
            if name not in names:
                names.append(name)
    return names or None


def producer_streams(catalogue: Catalogue) -> dict[str, str]:
    """Producing service → its stream (``registry`` → ``REGISTRY``), in catalogue order."""
    found: dict[str, str] = {}
    for spec in catalogue.specs:
        found.setdefault(spec.producer, service_stream(spec.producer).name)
    return found


def sources(types: list[str] | None, region_code: str, catalogue: Catalogue) -> list[StreamSource]:
    """The streams to read and, per stream, the subject filters: the server drops every
    event outside the region or the chosen types before it reaches the gateway."""
    suffix = region_subject_suffix(region_code)
    result = []
    for producer, stream in producer_streams(catalogue).items():
        if types is None:
            # Every event name has three tokens (<service>.<aggregate>.<event>).
            subjects: tuple[str, ...] = (f"{producer}.*.*.{suffix}",)
        else:
            names = [n for n in types if catalogue_producer(n) == producer]
            if not names:
                continue
            subjects = tuple(f"{name}.{suffix}" for name in names)
        result.append(StreamSource(stream, subjects))
    return result


def catalogue_producer(name: str) -> str:
    return name.split(".", 1)[0]


# --- the resume token ---------------------------------------------------------------------


def format_positions(positions: dict[str, int]) -> str:
    """``REGISTRY:1042,HEALTH:77``: the last stream sequence sent from every stream read."""
    return ",".join(f"{stream}:{seq}" for stream, seq in positions.items())


def parse_positions(token: str, field: str, catalogue: Catalogue) -> dict[str, int]:
    """Parse a resume token (the SSE ``id`` a client got last)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise PlanError(field, f"resume token longer than {MAX_TOKEN_LENGTH} characters")
    streams = set(producer_streams(catalogue).values())
    positions: dict[str, int] = {}
    for part in token.split(","):
        match = _POSITION.match(part.strip())
        if not match:
            raise PlanError(
                field,
                f"malformed resume token part {part[:40]!r}; expected STREAM:SEQUENCE pairs "
                "separated by commas, as sent in the events' id (e.g. REGISTRY:1042,HEALTH:77)",
            )
        stream, seq = match.group(1), int(match.group(2))
        if stream not in streams:
            raise PlanError(field, f"unknown stream {stream!r} in resume token")
        if stream in positions:
            raise PlanError(field, f"stream {stream!r} appears twice in resume token")
        positions[stream] = seq
    return positions
