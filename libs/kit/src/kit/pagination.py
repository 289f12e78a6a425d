"""Offset pagination shared by list endpoints."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_PAGE_SIZE = 200


class PageParams(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, size=size)


#: An endpoint's ``page: Paging`` parameter (``?page=&size=``).
Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
