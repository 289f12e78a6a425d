"""Exit readiness over the dimensions (DOMAIN §1.5, §8.1): pure rules, no I/O.

The dimensions themselves, their owners and reason codes are the shared contract in
``contracts.status``.
"""

from __future__ import annotations

from contracts.status import OWNER, Dimension, DimensionState, Reason

#: Each dimension's name and owner, in order (read once: enum attributes are slow to get,
#: and these run for every event a projection applies).
_DIMENSIONS = [(d.value, OWNER[d]) for d in Dimension]
_UNKNOWN, _NOT_OK = DimensionState.unknown.value, DimensionState.not_ok.value
_NO_DATA_YET = Reason.NO_DATA_YET.value


def initial_dimensions() -> dict[str, dict]:
    """Every dimension unknown until its owning service reports."""
    return {
        name: {
            "status": _UNKNOWN,
            "reason": _NO_DATA_YET,
            "source": owner,
            "event_id": None,
            "as_of": None,
        }
        for name, owner in _DIMENSIONS
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
        name for name, _ in _DIMENSIONS if dimensions.get(name, {}).get("status") == _NOT_OK
    ]
    if risk_alerts:
        blocking.append(OPEN_RISK_ALERTS)
    unknown = [
        name
        for name, _ in _DIMENSIONS
        if dimensions.get(name, {}).get("status", _UNKNOWN) == _UNKNOWN
    ]
    if blocking:
        return "not_ready", blocking, unknown
    if unknown:
        return "unknown", blocking, unknown
    return "ready", blocking, unknown
