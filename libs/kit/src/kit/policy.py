"""Policy parameters keyed by region and year (DOMAIN §0).

Every threshold, amount, ratio and duration of the rules is a :class:`Parameter` with the
seed value as default. An administrator may override it for a region subtree from a
year on; a rule asks :meth:`PolicyBook.value` for the value that applies to a region in a
year: the override of the most specific region prefix, then the latest year not after the
requested one, else the default. Every change is audited.

A service lists its parameters once (``PolicyBook(table, [...], audit)``) and mounts
:func:`policy_router`.
"""

# No `from __future__ import annotations` here: the routes below are built inside a
# function, and FastAPI must see their dependency annotations as objects, not strings.

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.dates import PolicyYear
from contracts.region import RegionCode, region_prefix
from kit import problems
from kit.app import ReadSessionDep, SessionDep
from kit.audit import AuditEntry, AuditLog
from kit.auth import Principal, ensure_in_region, requires, requires_any
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES


@dataclass(frozen=True)
class Parameter:
    """One policy parameter. ``type`` defaults to the type of ``default``."""

    key: str
    default: Any
    description: str
    unit: str = ""
    type: Any = field(default=None)

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type or type(self.default))

    def parse(self, value: Any) -> Any:
        return self.adapter.validate_python(value)

    def to_json(self, value: Any) -> Any:
        return self.adapter.dump_python(value, mode="json")


def define_policy_table(metadata: MetaData) -> Table:
    return Table(
        "policy_values",
        metadata,
        Column("key", String(100), nullable=False),
        Column("region_code", String(12), nullable=False),
        Column("region_prefix", String(12), nullable=False, comment="significant digits"),
        Column("year", Integer, nullable=False, comment="applies from this year on"),
        Column("value", JSONB, nullable=False),
        Column("reason", Text, nullable=False),
        Column("set_by", String(200), nullable=False),
        Column("set_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("key", "region_code", "year"),
    )


class PolicyValue(BaseModel):
    """The value of a parameter that applies to a region in a year, and where it comes from."""

    key: str
    description: str
    unit: str
    value: Any
    default: Any
    source: str = Field(description="`default`, or the override's region code and year")
    region_code: str | None = Field(None, description="Region of the override applied")
    year: int | None = Field(None, description="First year of the override applied")


@dataclass(frozen=True)
class Overrides:
    """Every override of one parameter, loaded at once, for work that needs its value for
    many regions and years (a bulk import): :meth:`value` resolves as
    :meth:`PolicyBook.resolve` does, without a query each. Plain values, so it pickles
    (worker processes get it)."""

    default: Any
    #: (region prefix, first year, typed value)
    rows: tuple[tuple[str, int, Any], ...] = ()

    def value(self, region_code: str, year: int) -> Any:
        best: tuple[str, int, Any] | None = None
        for row in self.rows:
            prefix, first, _ = row
            if not region_code.startswith(prefix) or first > year:
                continue
            # the most specific region prefix, then the latest year not after ``year``
            if best is None or (len(prefix), first) > (len(best[0]), best[1]):
                best = row
        return self.default if best is None else best[2]


class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: RegionCode = Field(description="The override applies to this region's subtree")
    year: PolicyYear = Field(description="…from this year on")
    value: Any = Field(description="New value, of the parameter's type")
    reason: str = Field(min_length=2, max_length=500, description="Why (文件号, decision)")


class PolicyBook:
    def __init__(self, table: Table, parameters: list[Parameter], audit: AuditLog) -> None:
        self.table = table
        self.parameters = {p.key: p for p in parameters}
        if len(self.parameters) != len(parameters):
            raise ValueError("duplicate policy parameter key")
        self.audit = audit

    def parameter(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            raise problems.NOT_FOUND(f"no parameter {key!r}") from None

    async def resolve(
        self, session: AsyncSession, key: str, *, region_code: str, year: int
    ) -> PolicyValue:
        parameter = self.parameter(key)
        t = self.table
        row = (
            await session.execute(
                select(t.c.value, t.c.region_code, t.c.year)
                .where(
                    t.c.key == key,
                    literal(region_code).startswith(t.c.region_prefix),
                    t.c.year <= year,
                )
                .order_by(func.length(t.c.region_prefix).desc(), t.c.year.desc())
                .limit(1)
            )
        ).first()
        default = parameter.to_json(parameter.default)
        if row is None:
            return PolicyValue(
                key=key,
                description=parameter.description,
                unit=parameter.unit,
                value=default,
                default=default,
                source="default",
            )
        return PolicyValue(
            key=key,
            description=parameter.description,
            unit=parameter.unit,
            value=row.value,
            default=default,
            source=f"{row.region_code}/{row.year}",
            region_code=row.region_code,
            year=row.year,
        )

    async def value(self, session: AsyncSession, key: str, *, region_code: str, year: int) -> Any:
        """The typed value a rule uses."""
        resolved = await self.resolve(session, key, region_code=region_code, year=year)
        return self.parameter(key).parse(resolved.value)

    async def overrides(self, session: AsyncSession, key: str) -> Overrides:
        """Every override of ``key`` in one query (see :class:`Overrides`)."""
        return (await self.overrides_of(session, [key]))[key]

    async def overrides_of(
        self, session: AsyncSession, keys: Iterable[str]
    ) -> dict[str, Overrides]:
        """Every override of each of ``keys``, all in one query."""
        parameters = {key: self.parameter(key) for key in keys}
        t = self.table
        rows = await session.execute(
            select(t.c.key, t.c.region_prefix, t.c.year, t.c.value).where(
                t.c.key.in_(list(parameters))
            )
        )
        found: dict[str, list[tuple[str, int, Any]]] = {key: [] for key in parameters}
        for r in rows:
            found[r.key].append((r.region_prefix, r.year, parameters[r.key].parse(r.value)))
        return {
            key: Overrides(
                default=parameter.parse(parameter.to_json(parameter.default)),
                rows=tuple(found[key]),
            )
            for key, parameter in parameters.items()
        }

    async def set(
        self, session: AsyncSession, key: str, change: PolicyChange, actor: Principal
    ) -> PolicyValue:
        """Override ``key`` for a region subtree from a year on (audited), and commit."""
        parameter = self.parameter(key)
        try:
            value = parameter.to_json(parameter.parse(change.value))
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise problems.INVALID_VALUE(f"{key}: {reason}", field="body.value") from None
        ensure_in_region(actor, change.region_code, field="body.region_code")
        where = dict(key=key, region_code=change.region_code, year=change.year)
        before = await self.resolve(session, key, region_code=change.region_code, year=change.year)
        statement = insert(self.table).values(
            **where,
            region_prefix=region_prefix(change.region_code),
            value=value,
            reason=change.reason,
            set_by=actor.subject,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["key", "region_code", "year"],
                set_=dict(
                    value=statement.excluded.value,
                    reason=statement.excluded.reason,
                    set_by=statement.excluded.set_by,
                    set_at=func.now(),
                ),
            )
        )
        after = await self.resolve(session, key, region_code=change.region_code, year=change.year)
        await self.audit.record(
            session,
            actor=actor,
            action="policy.set",
            entity="policy",
            entity_id=key,
            region_code=change.region_code,
            before=before,
            after={**after.model_dump(mode="json"), "reason": change.reason},
        )
        return after


def policy_router(book: PolicyBook, *, read_scope: str, write_scope: str = "policy:write"):
    """``GET /policy``, ``PUT /policy/{key}`` and ``GET /policy/{key}/history``.

    Whoever may change the parameters may read them (and their history) too, without the
    service's read scope: a county administrator sets health policy without reading claims."""
    router = APIRouter(prefix="/policy", tags=["policy"], responses=PROBLEM_RESPONSES)
    Reader = Annotated[Principal, requires_any(read_scope, write_scope)]
    Writer = Annotated[Principal, requires(write_scope)]

    @router.get("", summary="Policy parameters in force for a region and year")
    async def list_policy(
        actor: Reader,
        session: ReadSessionDep,
        clock: ClockDep,
        region: Annotated[
            RegionCode | None, Query(description="Region (default: your own)")
        ] = None,
        year: Annotated[PolicyYear | None, Query(description="Default: this year")] = None,
    ) -> list[PolicyValue]:
        code = region or actor.region
        if not actor.can_access(code):
            raise problems.OUTSIDE_REGION(field="query.region")
        return [
            await book.resolve(session, key, region_code=code, year=year or clock.today().year)
            for key in book.parameters
        ]

    @router.put("/{key}", summary="Override a parameter for a region subtree from a year on")
    async def set_policy(
        key: str, body: PolicyChange, actor: Writer, session: SessionDep
    ) -> PolicyValue:
        return await book.set(session, key, body, actor)

    @router.get("/{key}/history", summary="Every change of a parameter (who, when, before/after)")
    async def policy_history(key: str, actor: Reader, session: ReadSessionDep) -> list[AuditEntry]:
        book.parameter(key)
        entries = await book.audit.entries(session, "policy", key)
        return [e for e in entries if e.region_code and actor.can_access(e.region_code)]

    return router
