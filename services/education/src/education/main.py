"""Education (教育扶贫): ``uvicorn education.main:create_app --factory --port 8002``."""

from __future__ import annotations

from fastapi import FastAPI

from education.aid.endpoints import router as grants_router
from education.cases.endpoints import router as cases_router
from education.changes import router as changes_router
from education.compulsory_check.endpoints import router as compulsory_check_router
from education.config import EducationSettings
from education.conflicts import CONSTRAINT_PROBLEMS
from education.events import outbox
from education.households.endpoints import router as households_router
from education.households.service import EducationAssessor
from education.policy import policy
from education.records import registry_persons
from education.reports.endpoints import router as reports_router
from education.roster.endpoints import router as roster_router
from education.roster.matching import registry_client
from education.students.endpoints import router as students_router
from kit.app import ServiceDefinition, create_service_app
from kit.policy import policy_router
from kit.schedule import daily

DESCRIPTION = """
The system of 教育局. Authentication: `Authorization: Bearer <token>`; errors are
RFC 9457 `application/problem+json`.
"""


def create_app(settings: EducationSettings | None = None) -> FastAPI:
    settings = settings or EducationSettings()

    async def persons_changed(session, persons) -> None:
        """Once per consumer transaction, with the persons of all its households (a birth,
        a member leaving): their dimension reassessed set-wise."""
        await EducationAssessor(app.state.clock).reassess(
            session, {p.household_id for p in persons}
        )

    async def reassess_everyone(app: FastAPI) -> int:
        """The day's reassessment of every household (ages change with no record)."""
        return await EducationAssessor(app.state.clock).reassess_everyone(
            app.state.runtime.sessionmaker
        )

    app = create_service_app(
        ServiceDefinition(
            name="education",
            title="Jingzhun Education (教育扶贫)",
            description=DESCRIPTION,
            settings=settings,
            routers=[
                students_router,
                compulsory_check_router,
                cases_router,
                roster_router,
                grants_router,
                reports_router,
                households_router,
                changes_router,
                policy_router(policy, read_scope="education:read"),
            ],
            outbox=outbox,
            constraint_problems=CONSTRAINT_PROBLEMS,
            body_limits={"/rosters": settings.roster_max_bytes},
            resources=[
                registry_client(settings.registry_url, settings.registry_timeout_seconds),
                daily("reassess", reassess_everyone, at=settings.reassess_at),
            ],
            consumers=[registry_persons.registry_consumer(persons_changed)],
            openapi_tags=[
                {"name": "students", "description": "学籍: registry persons as students"},
                {
                    "name": "cases",
                    "description": "控辍保学: the compulsory-education check and 劝返 cases",
                },
                {
                    "name": "rosters",
                    "description": "A school's roster (学籍花名册) imported: students matched by ID number",
                },
                {"name": "grants", "description": "教育资助: aid grants paid, within standard"},
                {
                    "name": "reports",
                    "description": "资助全覆盖, summaries by region and term, 对账",
                },
                {"name": "status", "description": "义务教育有保障 for the gateway"},
                {"name": "changes", "description": "What was changed, by whom (audit log)"},
                {
                    "name": "policy",
                    "description": "Policy parameters (资助标准, ages) by region and year",
                },
                {"name": "operations", "description": "Health and readiness"},
            ],
        )
    )
    return app
