"""Health service (健康扶贫 / 医疗保障): ``uvicorn health.main:create_app --factory --port 8003``."""

from __future__ import annotations

from fastapi import FastAPI

from health.chronic.endpoints import router as chronic_router
from health.claims.endpoints import router as claims_router
from health.config import HealthSettings
from health.conflicts import CONSTRAINT_PROBLEMS
from health.critical.endpoints import router as critical_router
from health.dialysis.endpoints import router as dialysis_router
from health.doctors.endpoints import router as doctors_router
from health.enrolment.endpoints import router as enrolment_router
from health.enrolment.service import EnrolmentService
from health.events import outbox
from health.medical.endpoints import router as medical_router
from health.medical.service import MedicalAssessor
from health.policy import policy
from health.records import registry_persons
from health.reports.endpoints import router as reports_router
from kit.app import ServiceDefinition, create_service_app
from kit.policy import policy_router

DESCRIPTION = """
The county medical-insurance bureau's and health commission's system (医保局 / 卫健委):
enrolment with the premium subsidy for 四类人员 (资助参保), and one-stop settlement
(一站式结算, 先诊疗后付费) that attributes every yuan of a claim to basic insurance,
大病保险, 医疗救助 and the other payers while capping what a poor patient pays;
family-doctor contracts (家庭医生签约) with their follow-ups, 签约率 and 履约率; and
maintenance dialysis (血液透析) with the county's subsidy for each session.
Who is poor, 低保 or 特困 is learnt from the registry's events. Authentication:
`Authorization: Bearer <token>`; errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: HealthSettings | None = None) -> FastAPI:
    settings = settings or HealthSettings()

    async def persons_changed(session, persons) -> None:
        """Once per consumer transaction, with the persons of all its households: both
        follow them set-wise (a few queries for the whole batch)."""
        await EnrolmentService(app.state.clock).follow(session, persons)
        await MedicalAssessor(app.state.clock).reassess(session, {p.household_id for p in persons})

    app = create_service_app(
        ServiceDefinition(
            name="health",
            title="Jingzhun Health (健康扶贫 / 医疗保障)",
            description=DESCRIPTION,
            settings=settings,
            routers=[
                enrolment_router,
                claims_router,
                critical_router,
                chronic_router,
                reports_router,
                medical_router,
                doctors_router,
                dialysis_router,
                policy_router(policy, read_scope="health:read"),
            ],
            outbox=outbox,
            constraint_problems=CONSTRAINT_PROBLEMS,
            consumers=[registry_persons.registry_consumer(persons_changed)],
            openapi_tags=[
                {"name": "enrolment", "description": "参保 and 资助参保"},
                {
                    "name": "claims",
                    "description": "一站式结算: claims settled at discharge, reversals",
                },
                {
                    "name": "critical",
                    "description": "大病专项救治: the versioned list of diseases, the case "
                    "ledger (救治台账) and 救治率",
                },
                {"name": "chronic", "description": "门诊慢性病证明: certificates"},
                {"name": "reports", "description": "Reports by region and period, 对账"},
                {"name": "status", "description": "基本医疗有保障 for the gateway"},
                {
                    "name": "family doctors",
                    "description": "家庭医生签约: contracts, follow-ups (随访), 签约率 and 履约率",
                },
                {
                    "name": "dialysis",
                    "description": "血液透析: patients, sessions and the county subsidy",
                },
                {"name": "policy", "description": "Policy parameters by region and year"},
                {"name": "operations", "description": "Health and readiness"},
            ],
        )
    )
    return app
