"""Pure workflow rules (no I/O): whether a household may exit, from what the gateway said."""

from __future__ import annotations

from typing import Any


def exit_blockers(status: dict[str, Any]) -> list[str]:
    """Why the household may not exit, from the gateway's status document ([] if it may).

    Every dimension must be ok: income alone never suffices (防止只看收入指标)."""
    readiness = status.get("exit_readiness") or {}
    if readiness.get("status") == "ready":
        return []
    dimensions = status.get("dimensions") or {}
    reasons = []
    for name in [*readiness.get("blocking", []), *readiness.get("unknown", [])]:
        dimension = dimensions.get(name, {})
        words = dimension.get("reason_text") or dimension.get("reason") or dimension.get("status")
        reasons.append(f"{name}: {words}")
    return reasons or ["the gateway does not report the household ready"]
