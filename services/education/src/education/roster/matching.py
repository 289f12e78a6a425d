"""Matching ID numbers to registry persons: the registry's ``POST /persons/matches``, asked
with the caller's own token (its region rules apply), a batch at a time.

The registry owns the keyed hash of the ID numbers (ARCHITECTURE §6.3): education never
holds the key, never reads the registry's database and keeps no index of the numbers; it
sends them in the body and gets back who each one is, in the caller's region.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import NamedTuple

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from education import errors

#: Numbers one request carries: the registry's limit.
BATCH = 1000


class Match(NamedTuple):
    member_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str


class _Answer(BaseModel):
    class _One(BaseModel):
        index: int
        found: bool
        member_id: uuid.UUID | None = None
        household_id: uuid.UUID | None = None
        region_code: str | None = None

    matches: list[_One]


class RegistryClient:
    """One pooled HTTP client for the registry (lives as long as the app)."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout_seconds)

    async def match(self, id_numbers: list[str], authorization: str) -> list[Match | None]:
        """The person of each (valid, normalised) ID number in the caller's region, or
        None; in the numbers' order."""
        found: list[Match | None] = []
        for start in range(0, len(id_numbers), BATCH):
            found += await self._batch(id_numbers[start : start + BATCH], authorization)
        return found

    async def _batch(self, id_numbers: list[str], authorization: str) -> list[Match | None]:
        try:
            response = await self.client.post(
                f"{self.base_url}/persons/matches",
                json={"id_numbers": id_numbers},
                headers={"Authorization": authorization},
            )
        except httpx.HTTPError as exc:
            raise errors.REGISTRY_UNAVAILABLE(
                f"the registry did not answer ({type(exc).__name__}); nothing was imported"
            ) from None
        if response.status_code in (401, 403):
            raise errors.REGISTRY_REFUSED(
                f"the registry refused your token (HTTP {response.status_code}): matching "
                "needs registry:read; nothing was imported"
            )
        if response.status_code != 200:
            raise errors.REGISTRY_UNAVAILABLE(
                f"the registry answered HTTP {response.status_code}; nothing was imported"
            )
        try:
            answer = _Answer.model_validate_json(response.content)
        except ValidationError:
            raise errors.REGISTRY_UNAVAILABLE(
                "the registry answered something that is not a match; nothing was imported"
            ) from None
        by_index: list[Match | None] = [None] * len(id_numbers)
        for one in answer.matches:
            if one.found and 0 <= one.index < len(id_numbers):
                by_index[one.index] = Match(one.member_id, one.household_id, one.region_code)
        return by_index

    async def close(self) -> None:
        await self.client.aclose()


def registry_client(
    base_url: str, timeout_seconds: float
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's resource: ``app.state.registry``, closed when the app stops."""

    @contextlib.asynccontextmanager
    async def resource(app: FastAPI) -> AsyncIterator[None]:
        app.state.registry = RegistryClient(base_url, timeout_seconds)
        try:
            yield
        finally:
            await app.state.registry.close()

    return resource
