"""一超两不愁三保障 at decision time: the registry asks the gateway, which holds every
department's view of the household, and keeps its answer as evidence of the exit.

If the gateway cannot answer, the exit is refused (503), never approved blind."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kit.errors import Problem


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout_seconds
        self.transport = transport

    async def household_status(self, household_id: uuid.UUID, authorization: str) -> dict[str, Any]:
        """The gateway's status document, read with the caller's own token (its region applies)."""
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            ) as client:
                response = await client.get(
                    f"/households/{household_id}/status",
                    headers={"Authorization": authorization},
                )
        except httpx.HTTPError as exc:
            raise _unavailable(f"the gateway did not answer ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise Problem(
                409,
                "Exit criteria unknown",
                "the gateway has no status for this household yet; wait until its events "
                "have arrived",
                code="EXIT_CRITERIA_UNKNOWN",
            )
        if response.status_code != 200:
            raise _unavailable(f"the gateway answered {response.status_code}")
        return response.json()


def _unavailable(reason: str) -> Problem:
    return Problem(
        503,
        "Exit criteria cannot be checked",
        f"{reason}; an exit is never approved without the 一超两不愁三保障 check. Try again later",
        code="GATEWAY_UNAVAILABLE",
        headers={"Retry-After": "30"},
    )


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
