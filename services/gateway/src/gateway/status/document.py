"""A household row of the projection as the status document (one way, for every endpoint)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_json

from contracts.status import DIMENSION_LABELS, REASON_TEXT, Dimension
from gateway.status.dimensions import exit_readiness
from gateway.status.schemas import (
    DimensionStatus,
    ExitReadiness,
    HelperOut,
    HelperSummary,
    HouseholdStatusOut,
    RiskAlert,
)

RECENT_VISITS = dt.timedelta(days=30)


def is_shown(row: Mapping[str, Any] | None) -> bool:
    """A row exists for users once the registry's basics have arrived."""
    return row is not None and row["registry_event_id"] is not None


def status_bytes(document: HouseholdStatusOut) -> bytes:
    """The JSON every status answer sends (one serialisation, cached or not)."""
    return document.model_dump_json().encode()


_NAME_KEY = b'"head_name":'


def name_span(body: bytes, name: str | None) -> tuple[int, int]:
    """Where the head's name (its JSON value) lies in a status body rendered with names.

    The first ``"head_name":`` is the document's own: only the household id and the region
    code (a UUID and digits) come before it."""
    start = body.index(_NAME_KEY) + len(_NAME_KEY)
    return start, start + len(to_json(name))


def without_names(body: bytes, start: int, end: int) -> bytes:
    """The same body for a caller who may not see names (see :func:`name_span`)."""
    return body[:start] + b"null" + body[end:]


def assigned_helpers(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids of the household's current helpers (帮扶责任人), as text."""
    return tuple(sorted({helper["helper_id"] for helper in row["helpers"].values()}))


def holds_until(row: Mapping[str, Any], today: dt.date) -> dt.date | None:
    """The first day on which the household's document, rendered ``today``, would read
    differently although no event came: the day a counted visit leaves the last 30 days or
    a visit dated ahead enters them. None: until the next event."""
    days = [dt.date.fromisoformat(day) for day in row["visit_dates"]]
    changes = [day + RECENT_VISITS + dt.timedelta(days=1) for day in days if day <= today]
    changes += [day for day in days if day > today]
    return min((day for day in changes if day > today), default=None)


def status_document(row: Mapping[str, Any], today: dt.date, *, names: bool) -> HouseholdStatusOut:
    """The document; ``names``: with the head's name (the caller holds ``pii:read``)."""
    dimensions = row["dimensions"]
    readiness, blocking, unknown = exit_readiness(dimensions, row["risk_alerts"])
    recent = (today - RECENT_VISITS).isoformat()
    visits = row["visit_dates"]
    return HouseholdStatusOut(
        household_id=row["household_id"],
        region_code=row["region_code"],
        head_name=row["head_name"] if names else None,
        member_count=row["member_count"],
        poverty_state=row["poverty_state"],
        assistance_type=row["assistance_type"],
        monitoring_category=row["monitoring_category"],
        primary_cause=row["primary_cause"],
        causes=row["causes"],
        dimensions={
            d.value: DimensionStatus(
                **dimensions[d.value],
                label=DIMENSION_LABELS[d],
                reason_text=REASON_TEXT.get(dimensions[d.value].get("reason")),
            )
            for d in Dimension
        },
        exit_readiness=ExitReadiness(status=readiness, blocking=blocking, unknown=unknown),
        risk_alerts=[
            RiskAlert(alert_id=alert_id, **alert)
            for alert_id, alert in sorted(
                row["risk_alerts"].items(), key=lambda item: item[1]["raised_on"]
            )
        ],
        helper=HelperSummary(
            assigned=bool(row["helpers"]),
            helpers=[HelperOut(**helper) for helper in row["helpers"].values()],
            visits_last_30_days=sum(recent <= day <= today.isoformat() for day in visits),
            last_visit=visits[-1] if visits else None,
        ),
        policy_continuity_until=row["policy_continuity_until"],
        as_of=row["registry_event_at"],
        source_event_id=row["registry_event_id"],
    )
