"""Exit readiness over the dimensions (DOMAIN §1.5, §8.1): pure rules, no I/O.

The dimensions themselves, their owners and reason codes are the shared contract in
``contracts.status``.
"""

from __future__ import annotations

from contracts.status import OWNER, Dimension, DimensionState, Reason


def initial_dimensions() -> dict[str, dict]:
    """Every dimension unknown until its owning service reports."""
    return {
        d.value: {
            "status": DimensionState.unknown.value,
            "reason": Reason.NO_DATA_YET.value,
            "source": OWNER[d],
            "event_id": None,
            "as_of": None,
        }
        for d in Dimension
    }


#: In ``blocking`` when a risk alert is open: no exit while a return-to-poverty risk is.
OPEN_RISK_ALERTS = "risk_alerts"


def exit_readiness(
    dimensions: dict[str, dict], risk_alerts: dict[str, dict] | None = None
) -> tuple[str, list[str], list[str]]:
    """(status, blocking, unknown): ``ready`` iff every dimension is ok and no risk alert is
    open (DOMAIN §8.1); ``not_ready`` lists the blockers; otherwise ``unknown``.

    Income alone never suffices (防止只看收入指标): every dimension counts.
    """
    blocking = [
        d.value
        for d in Dimension
        if dimensions.get(d.value, {}).get("status") == DimensionState.not_ok
    ]
    if risk_alerts:
        blocking.append(OPEN_RISK_ALERTS)
    unknown = [
        d.value
        for d in Dimension
        if dimensions.get(d.value, {}).get("status", "unknown") == DimensionState.unknown
    ]
    if blocking:
        return "not_ready", blocking, unknown
    if unknown:
        return "unknown", blocking, unknown
    return "ready", blocking, unknown
