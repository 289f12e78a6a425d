"""Request and response bodies of household composition changes (动态调整 of persons):
自然增减 (birth, death), 户内人员增减 (join, leave, move between households) and 并户."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.enums import AdjustmentKind, Relation, describe
from contracts.validation import FieldsError
from registry.enums import MemberChangeCause
from registry.evidence import Evidence
from registry.households.schemas import MemberCreate
from registry.workflow.schemas import Month, Text

#: The relation a moved person may take in their new household (never 户主: it has one).
NonHeadRelation = Annotated[
    Relation, Field(description="与新户主关系 (not head): " + describe(Relation))
]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)

    effective_month: Month | None = Field(None, description="Default: this month")
    reason_text: Text = Field(description="Why, in words")
    evidence: Evidence


class _Leaving(_Change):
    member_id: uuid.UUID
    new_head_member_id: uuid.UUID | None = Field(
        None, description="Required when the person leaving is the head (户主): who takes over"
    )


class Join(_Change):
    """A person joins the household: birth (自然增加) or marriage, migration (户内人员增加)."""

    change: Literal["join"]
    cause: MemberChangeCause = Field(description=describe(MemberChangeCause))
    member: MemberCreate

    @model_validator(mode="after")
    def _check(self) -> Join:
        if self.cause == MemberChangeCause.death:
            raise FieldsError("a person does not join by death", "cause")
        if self.member.relation == Relation.head:
            raise FieldsError(
                "the household has its head; a person joins with another relation",
                "member.relation",
            )
        return self


class Leave(_Leaving):
    """A person leaves the register with this household: death (自然减少), marriage, migration."""

    change: Literal["leave"]
    cause: MemberChangeCause = Field(description=describe(MemberChangeCause))

    @model_validator(mode="after")
    def _check(self) -> Leave:
        if self.cause == MemberChangeCause.birth:
            raise FieldsError("a person does not leave by birth", "cause")
        return self


class Move(_Leaving):
    """A person moves to another registered household (户内人员增减 on both)."""

    change: Literal["move"]
    cause: MemberChangeCause = Field(
        MemberChangeCause.household_split, description=describe(MemberChangeCause)
    )
    to_household_id: uuid.UUID
    relation: NonHeadRelation

    @model_validator(mode="after")
    def _check(self) -> Move:
        if self.cause in (MemberChangeCause.birth, MemberChangeCause.death):
            raise ValueError(f"a move cannot be caused by {self.cause.value}")
        _not_head(self.relation)
        return self


class Merge(_Change):
    """并户: this household joins another; it keeps its id with ``merged_into`` for history,
    and every member moves (its head needs a relation in the new household)."""

    change: Literal["merge"]
    into_household_id: uuid.UUID
    relations: dict[uuid.UUID, NonHeadRelation] = Field(
        default_factory=dict,
        description="New 与户主关系 by member id; required for this household's head, "
        "the others keep theirs unless given",
    )

    @model_validator(mode="after")
    def _check(self) -> Merge:
        for relation in self.relations.values():
            _not_head(relation)
        return self


def _not_head(relation: Relation) -> None:
    if relation == Relation.head:
        raise ValueError("the household joined has its head (户主); give another relation")


ChangeRequest = Annotated[Join | Leave | Move | Merge, Field(discriminator="change")]

#: The 动态调整 kind each change is recorded as.
KIND = {
    MemberChangeCause.birth: AdjustmentKind.natural_change,
    MemberChangeCause.death: AdjustmentKind.natural_change,
}


def kind_of(change: Join | Leave | Move | Merge) -> AdjustmentKind:
    if isinstance(change, Merge):
        return AdjustmentKind.merge
    return KIND.get(change.cause, AdjustmentKind.member_change)


class AdjustmentOut(BaseModel):
    """One 动态调整 of the household (workflow steps such as 清退 included)."""

    id: uuid.UUID
    kind: AdjustmentKind
    effective_month: dt.date
    reason: str | None
    details: dict[str, Any]
    evidence: list[dict[str, Any]]
    actor: str
    at: dt.datetime
