"""Workflow endpoints: one transition endpoint for every step, the 公示 windows and objections."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, status
from pydantic import BaseModel

from contracts.enums import PovertyState, WorkflowStage
from kit.app import ReadSessionDep, SessionDep
from kit.errors import PROBLEM_RESPONSES
from registry.auth import RegistryRead, RegistryWrite
from registry.households.endpoints import ServiceDep as HouseholdServiceDep
from registry.households.endpoints import household_out
from registry.households.schemas import HouseholdOut
from registry.workflow.machine import RULES, Action
from registry.workflow.schemas import (
    ObjectionCreate,
    ObjectionOut,
    ObjectionResolve,
    PublicityOut,
    StepOut,
    StepRequest,
)
from registry.workflow.service import WorkflowService

router = APIRouter(tags=["workflow"], responses=PROBLEM_RESPONSES)


async def get_workflow(request: Request, households: HouseholdServiceDep) -> WorkflowService:
    return WorkflowService(households, request.app.state.gateway)


WorkflowDep = Annotated[WorkflowService, Depends(get_workflow)]

ACTIONS_DOC = "\n".join(f"- `{a.value}` {RULES[a].label}" for a in Action if not RULES[a].system)


class AllowedAction(BaseModel):
    action: Action
    label: str


class WorkflowOut(BaseModel):
    poverty_state: PovertyState
    stage: WorkflowStage | None
    allowed: list[AllowedAction]
    steps: list[StepOut]


@router.post(
    "/households/{household_id}/transitions",
    summary="Take a workflow step (识别, 退出, 动态调整)",
    description="One step of the household's file, with its evidence. `action` picks the "
    "step:\n\n" + ACTIONS_DOC + "\n\nAn illegal step gets 409 with the reason and the steps "
    "possible now; county-level steps need the scope `registry:approve`.",
)
async def take_step(
    household_id: uuid.UUID,
    body: Annotated[StepRequest, Body()],
    actor: RegistryWrite,
    session: SessionDep,
    workflow: WorkflowDep,
    request: Request,
) -> HouseholdOut:
    household, members = await workflow.step(
        session,
        household_id,
        body,
        actor,
        authorization=request.headers.get("authorization", ""),
    )
    return household_out(household, members, actor, workflow.households.vault)


@router.get(
    "/households/{household_id}/transitions",
    summary="The household's steps so far and the steps possible now",
)
async def list_steps(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, workflow: WorkflowDep
) -> WorkflowOut:
    household, steps = await workflow.steps(session, household_id, actor)
    return WorkflowOut(
        poverty_state=household.poverty_state,
        stage=household.stage,
        allowed=[
            AllowedAction(action=a, label=RULES[a].label) for a in workflow.allowed(household)
        ],
        steps=[StepOut.model_validate(s, from_attributes=True) for s in steps],
    )


@router.get("/households/{household_id}/publicities", summary="The household's 公示 windows")
async def list_publicities(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, workflow: WorkflowDep
) -> list[PublicityOut]:
    rows = await workflow.publicities(session, household_id, actor)
    return [PublicityOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/households/{household_id}/objections", summary="Objections to the household's 公示")
async def list_objections(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, workflow: WorkflowDep
) -> list[ObjectionOut]:
    rows = await workflow.objections(session, household_id, actor)
    return [ObjectionOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/publicities/{publicity_id}/objections",
    status_code=status.HTTP_201_CREATED,
    summary="Record an objection (异议) received during a 公示",
    description="While it is open, the objection blocks the next step of the household.",
)
async def file_objection(
    publicity_id: uuid.UUID,
    body: ObjectionCreate,
    actor: RegistryWrite,
    session: SessionDep,
    workflow: WorkflowDep,
) -> ObjectionOut:
    objection = await workflow.file_objection(session, publicity_id, body, actor)
    return ObjectionOut.model_validate(objection, from_attributes=True)


@router.post(
    "/objections/{objection_id}/resolution",
    summary="Resolve an objection after verification (核实)",
    description="Dismissed: the household goes on. Upheld: the 公示 is withdrawn and the "
    "household goes back to survey or is rejected (inclusion), or leaves the exit plan (exit).",
)
async def resolve_objection(
    objection_id: uuid.UUID,
    body: ObjectionResolve,
    actor: RegistryWrite,
    session: SessionDep,
    workflow: WorkflowDep,
) -> ObjectionOut:
    objection = await workflow.resolve_objection(session, objection_id, body, actor)
    return ObjectionOut.model_validate(objection, from_attributes=True)
