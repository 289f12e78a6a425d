"""Registry service (建档立卡): ``uvicorn registry.main:create_app --factory --port 8001``."""

from __future__ import annotations

from fastapi import FastAPI

from kit.app import ServiceDefinition, create_service_app
from kit.policy import policy_router
from registry.adjustments.endpoints import router as adjustments_router
from registry.config import RegistrySettings
from registry.conflicts import CONSTRAINT_PROBLEMS
from registry.events import outbox
from registry.helpers.endpoints import router as helpers_router
from registry.households.endpoints import router as households_router
from registry.households.service import HouseholdService
from registry.imports.endpoints import router as imports_router
from registry.imports.jobs import ImportJobs
from registry.monitoring.consumers import monitoring_consumers
from registry.monitoring.endpoints import router as monitoring_router
from registry.monitoring.service import MonitoringService
from registry.notices.endpoints import router as notices_router
from registry.pii import IdNumberVault
from registry.policy import policy
from registry.quality.endpoints import router as quality_router
from registry.regions.endpoints import router as regions_router
from registry.workflow.endpoints import router as workflow_router
from registry.workflow.exit_criteria import GatewayClient

DESCRIPTION = """
The county poverty office's system of record (扶贫办/乡村振兴局): who is registered as poor,
why, and in which village. Every change is published as an event (see the event catalogue).

Authentication: `Authorization: Bearer <token>`; each operation lists the scope it needs.
Resident ID numbers are masked (`6229*************X`) and persons show their birth year, not
their birth date, unless the token holds `pii:read`. Errors are RFC 9457
`application/problem+json`.
"""


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    vault = IdNumberVault.from_settings(settings)  # fails fast without the PII keys

    def monitoring() -> MonitoringService:
        return MonitoringService(HouseholdService(vault, app.state.clock))

    app = create_service_app(
        ServiceDefinition(
            name="registry",
            title="Jingzhun Registry (建档立卡)",
            description=DESCRIPTION,
            settings=settings,
            routers=[
                regions_router,
                households_router,
                workflow_router,
                adjustments_router,
                notices_router,
                monitoring_router,
                helpers_router,
                quality_router,
                imports_router,
                policy_router(policy, read_scope="registry:read"),
            ],
            outbox=outbox,
            constraint_problems=CONSTRAINT_PROBLEMS,
            consumers=monitoring_consumers(monitoring),
            body_limits={"/imports": settings.import_max_bytes},
            openapi_tags=[
                {"name": "households", "description": "户 and 户成员"},
                {
                    "name": "workflow",
                    "description": "识别 (申请 → 调查 → 评议 → 公示 → 建档立卡), 退出 and 动态调整 "
                    "as one state machine; 公示 windows and objections",
                },
                {
                    "name": "adjustments",
                    "description": "动态调整 of who belongs to a household: 自然增减, "
                    "户内人员增减, 并户",
                },
                {
                    "name": "public notice",
                    "description": "公示栏: open to everyone, masked (no token needed)",
                },
                {
                    "name": "monitoring",
                    "description": "防返贫监测: risk alerts raised from other departments' "
                    "events (health, housing, education, low income) or by hand; "
                    "研判 → 帮扶 → 解除",
                },
                {
                    "name": "helpers",
                    "description": "帮扶责任人: helpers, assignments with load limits, visit "
                    "logs (帮扶记录)",
                },
                {
                    "name": "screening",
                    "description": "数据比对 red flags: 有车有房, income above the line, "
                    "duplicate persons",
                },
                {
                    "name": "reports",
                    "description": "Helper compliance, households without a helper, 贫困发生率 "
                    "against the quota, 错评/错退/漏评 rates against their limits",
                },
                {
                    "name": "imports",
                    "description": "批量导入: a county's existing spreadsheet (CSV or XLSX), "
                    "validated row by row, written whole household by whole household",
                },
                {"name": "regions", "description": "行政区划"},
                {
                    "name": "policy",
                    "description": "Policy parameters by region and year (thresholds, "
                    "durations, quotas), seed values as defaults",
                },
                {"name": "operations", "description": "Health and readiness"},
            ],
        )
    )
    app.state.import_jobs = ImportJobs()
    app.state.vault = vault
    app.state.gateway = GatewayClient(settings.gateway_url, settings.gateway_timeout_seconds)
    return app
