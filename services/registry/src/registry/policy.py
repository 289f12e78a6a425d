"""The registry's policy parameters (DOMAIN §2), seed values as defaults.

Rules read them with ``await policy.value(session, KEY, region_code=…, year=…)``; a
``county_admin`` overrides them per region subtree and year through ``PUT /policy/{key}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from contracts.money import NonNegativeMoney
from kit.policy import Parameter, PolicyBook
from registry.audit import audit
from registry.models import policy_table

POVERTY_LINE = "poverty_line"
QUORUM_SMALL_VILLAGE = "identification.quorum.small_village"
QUORUM_LARGE_VILLAGE = "identification.quorum.large_village"
LARGE_VILLAGE_POPULATION = "identification.large_village_population"
PUBLICITY_DAYS_VILLAGE = "identification.publicity_days.village"
PUBLICITY_DAYS_TOWNSHIP = "identification.publicity_days.township"
PUBLICITY_DAYS_COUNTY = "identification.publicity_days.county"
OBJECTION_VERIFY_DAYS = "objection.verify_days"
EXIT_PUBLICITY_DAYS = "exit.publicity_days"
EXIT_CONTINUITY_YEARS = "exit.policy_continuity_years"
EXIT_MONITORING_YEARS = "exit.monitoring_years"
MIN_SURVEYORS = "identification.min_surveyors"
OBJECTION_HOTLINE = "objection.hotline"
ALERT_DUE_DAYS = "monitoring.alert_due_days"
MEDICAL_COST_FLOOR = "monitoring.medical_cost.floor"
MEDICAL_COST_INCOME_RATIO = "monitoring.medical_cost.income_ratio"
HELPER_MAX_LOAD_SECTION_LEVEL = "helpers.max_load.section_level"
HELPER_MAX_LOAD_ORDINARY = "helpers.max_load.ordinary"
HELPER_MIN_VISITS_PER_MONTH = "helpers.min_visits_per_month"
INCIDENCE_QUOTA_KEY_VILLAGE = "incidence.quota.key_poor_village"
INCIDENCE_QUOTA_OTHER_VILLAGE = "incidence.quota.other_village"
INCIDENCE_DENOMINATOR = "incidence.denominator"
QUALITY_MAX_WRONG_INCLUSION = "quality.max_rate.wrong_inclusion"
QUALITY_MAX_WRONG_EXIT = "quality.max_rate.wrong_exit"
QUALITY_MAX_OMISSION = "quality.max_rate.omission"

Ratio = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]

PARAMETERS = [
    Parameter(
        POVERTY_LINE,
        Decimal("3322.00"),
        "扶贫标准: per-capita net income a year a household must exceed (一超)",
        "元/人/年",
        NonNegativeMoney,
    ),
    Parameter(
        QUORUM_SMALL_VILLAGE,
        20,
        "民主评议 quorum: representatives present, village below the large-village population",
        "人",
    ),
    Parameter(
        QUORUM_LARGE_VILLAGE,
        30,
        "民主评议 quorum in a village of at least the large-village population",
        "人",
    ),
    Parameter(
        LARGE_VILLAGE_POPULATION,
        1000,
        "Population from which a village counts as large (1000人以上, inclusive); "
        "a village of unknown population gets the larger quorum",
        "人",
    ),
    Parameter(
        MIN_SURVEYORS, 2, "入户调查: surveyors who must sign a survey (谁排查、谁签字)", "人"
    ),
    Parameter(PUBLICITY_DAYS_VILLAGE, 7, "村公示 length", "天"),
    Parameter(PUBLICITY_DAYS_TOWNSHIP, 7, "乡镇审核后公示 length", "天"),
    Parameter(PUBLICITY_DAYS_COUNTY, 5, "县复审后公告 length", "天"),
    Parameter(OBJECTION_HOTLINE, "12317", "扶贫监督电话 shown on every public 公示", "电话"),
    Parameter(OBJECTION_VERIFY_DAYS, 7, "异议核实: days the publishing level has to verify", "天"),
    Parameter(EXIT_PUBLICITY_DAYS, 7, "脱贫 村级评议后公示 length", "天"),
    Parameter(EXIT_CONTINUITY_YEARS, 5, "脱贫不脱政策: years policies continue after exit", "年"),
    Parameter(
        EXIT_MONITORING_YEARS, 5, "防返贫监测: years an exited household stays monitored", "年"
    ),
    Parameter(
        ALERT_DUE_DAYS,
        30,
        "防返贫监测: days from raising a risk alert to its due date (核实 and 帮扶)",
        "天",
    ),
    Parameter(
        MEDICAL_COST_FLOOR,
        Decimal("10000.00"),
        "高额医疗支出: a household's annual out-of-pocket medical cost above the larger of "
        "this amount and the income share raises an alert",
        "元/户/年",
        NonNegativeMoney,
    ),
    Parameter(
        MEDICAL_COST_INCOME_RATIO,
        Decimal("0.50"),
        "高额医疗支出: share of the household's annual net income (人均纯收入 × 人数) the "
        "annual out-of-pocket medical cost must exceed",
        "比例",
        Annotated[Decimal, Field(ge=0, le=10, decimal_places=4)],
    ),
    # --- helpers (帮扶责任人) [001] -----------------------------------------------------------
    Parameter(
        HELPER_MAX_LOAD_SECTION_LEVEL,
        3,
        "科级领导干部帮扶2-3户: most households a section-level cadre helps at once",
        "户",
        Annotated[int, Field(ge=1, le=50)],
    ),
    Parameter(
        HELPER_MAX_LOAD_ORDINARY,
        1,
        "一般干部帮扶1户: most households an ordinary cadre helps at once",
        "户",
        Annotated[int, Field(ge=1, le=50)],
    ),
    Parameter(
        HELPER_MIN_VISITS_PER_MONTH,
        3,
        "帮扶干部每月入户不少于3次: visits a primary helper owes a household each month",
        "次/月",
        Annotated[int, Field(ge=0, le=31)],
    ),
    # --- 贫困发生率 and quality (DOMAIN §2.4, §2.7, §2.10) ----------------------------------------
    Parameter(
        INCIDENCE_QUOTA_KEY_VILLAGE,
        Decimal("0.50"),
        "识别规模: average 贫困发生率 of a 重点贫困村 (above it is a warning)",
        "比例",
        Ratio,
    ),
    Parameter(
        INCIDENCE_QUOTA_OTHER_VILLAGE,
        Decimal("0.05"),
        "识别规模: average 贫困发生率 of any other village (above it is a warning)",
        "比例",
        Ratio,
    ),
    Parameter(
        INCIDENCE_DENOMINATOR,
        "rural_population",
        "贫困发生率 denominator: `rural_population` (农村户籍人口, regions.population) or "
        "`total_population` (总人口, regions.total_population)",
        "",
        Literal["rural_population", "total_population"],
    ),
    Parameter(
        QUALITY_MAX_WRONG_INCLUSION, Decimal("0.02"), "错评率 must stay below this", "比例", Ratio
    ),
    Parameter(
        QUALITY_MAX_WRONG_EXIT, Decimal("0.02"), "错退率 must stay below this", "比例", Ratio
    ),
    Parameter(QUALITY_MAX_OMISSION, Decimal("0.03"), "漏评率 must stay below this", "比例", Ratio),
]

policy = PolicyBook(policy_table, PARAMETERS, audit)
