"""一超两不愁三保障 at decision time: the registry asks the gateway, which holds every
department's view of the household, and keeps its answer as evidence of the exit (the rule
over the answer is :func:`registry.workflow.rules.exit_blockers`).

If the gateway cannot answer, the exit is refused (503), never approved blind."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kit.problems import Problem
from registry import errors


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
            raise errors.EXIT_CRITERIA_UNKNOWN(
                "the gateway has no status for this household yet; wait until its events "
                "have arrived"
            )
        if response.status_code != 200:
            raise _unavailable(f"the gateway answered {response.status_code}")
        return response.json()


def _unavailable(reason: str) -> Problem:
    return errors.GATEWAY_UNAVAILABLE(
        f"{reason}; an exit is never approved without the 一超两不愁三保障 check. Try again later",
        headers={"Retry-After": "30"},
    )
