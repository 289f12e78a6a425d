"""The health service's policy parameters (DOMAIN §4), seed values as defaults.

Every amount, ratio and cap is keyed by region subtree and year (``PUT /policy/{key}`` by a
``county_admin``). The settlement terms are one parameter per group of patients and kind
of claim, each a table by hospital level: the seeds fix only some of the numbers ("三降三升"
for the poor, no 起付线 for 大病保险, the 10% / 5% caps); the others are illustrative
defaults, to be set by each county.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.enums import HospitalLevel
from contracts.money import NonNegativeMoney
from health.audit import audit
from health.enrolment.eligibility import SubsidyCategory
from health.models import policy_table
from kit.policy import Parameter, PolicyBook

Ratio = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]


class PayerTerms(BaseModel):
    """One payer's terms: 起付线 and 报销比例 at each hospital level, and 年度封顶线."""

    model_config = ConfigDict(frozen=True)

    deductible: dict[HospitalLevel, NonNegativeMoney] = Field(description="起付线 by level")
    ratio: dict[HospitalLevel, Ratio] = Field(description="报销比例 by level")
    annual_cap: NonNegativeMoney | None = Field(None, description="年度封顶线 (none: no cap)")

    @model_validator(mode="after")
    def _every_level(self) -> PayerTerms:
        for name in ("deductible", "ratio"):
            missing = set(HospitalLevel) - set(getattr(self, name))
            if missing:
                raise ValueError(f"{name}: no value for {', '.join(sorted(missing))}")
        return self


class PayerSchedule(BaseModel):
    """What each payer pays for one group of patients and one kind of claim."""

    model_config = ConfigDict(frozen=True)

    bmi: PayerTerms = Field(description="基本医疗保险")
    cii: PayerTerms | None = Field(None, description="大病保险 (none: it does not pay)")
    ma: PayerTerms | None = Field(None, description="医疗救助 (none: not for this group)")


def _levels(township: str, county: str, municipal: str, provincial: str) -> dict:
    return {
        HospitalLevel.township: Decimal(township),
        HospitalLevel.county: Decimal(county),
        HospitalLevel.municipal: Decimal(municipal),
        HospitalLevel.provincial: Decimal(provincial),
    }


def _flat(value: str) -> dict:
    return _levels(value, value, value, value)


PREMIUM = "enrolment.premium"
SUBSIDISED_CATEGORIES = "enrolment.subsidised_categories"
INPATIENT_AIDED = "settlement.inpatient.aided"
INPATIENT_GENERAL = "settlement.inpatient.general"
OUTPATIENT_AIDED = "settlement.outpatient.aided"
OUTPATIENT_GENERAL = "settlement.outpatient.general"
PERSONAL_CAP_RATIO = "settlement.personal_cap_ratio"
ACTUAL_SHARE_TARGET = "settlement.actual_share_target"
SUPPLEMENTARY_CAP = "settlement.supplementary.annual_cap"
CRITICAL_CII_DEDUCTIBLE_WAIVED = "critical.cii_deductible_waived"
KEY_CHRONIC_CONDITIONS = "family_doctor.key_chronic_conditions"
OTHER_CHRONIC_CONDITIONS = "family_doctor.other_chronic_conditions"
MIN_FACE_TO_FACE = "family_doctor.min_face_to_face_follow_ups"
DIALYSIS_SUBSIDY = "dialysis.subsidy_per_session"

#: A 慢病 code as contracts and follow-ups carry it (``hypertension``); its 中文 name is
#: the value in the policy list.
ConditionCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]

# The county column of the aided inpatient schedule is DOMAIN §4.2's worked example.
PARAMETERS = [
    Parameter(
        PREMIUM,
        Decimal("220.00"),
        "城乡居民医保 individual premium (四口之家 880元)",
        "元/人/年",
        NonNegativeMoney,
    ),
    Parameter(
        SUBSIDISED_CATEGORIES,
        list(SubsidyCategory),
        "Whose premium is paid in full (四类人员: 建档立卡, 低保, 特困供养, 重度残疾)",
        "",
        list[SubsidyCategory],
    ),
    Parameter(
        INPATIENT_AIDED,
        PayerSchedule(
            bmi=PayerTerms(
                deductible=_levels("100.00", "500.00", "800.00", "1200.00"),
                ratio=_levels("0.90", "0.70", "0.65", "0.60"),
                annual_cap=Decimal("150000.00"),
            ),
            cii=PayerTerms(
                deductible=_flat("0.00"), ratio=_flat("0.50"), annual_cap=Decimal("300000.00")
            ),
            ma=PayerTerms(
                deductible=_flat("0.00"), ratio=_flat("0.70"), annual_cap=Decimal("10000.00")
            ),
        ),
        "Inpatient terms for 四类人员 (医疗救助对象): 三降三升 against the general terms; "
        "大病保险 without 起付线",
        "",
        PayerSchedule,
    ),
    Parameter(
        INPATIENT_GENERAL,
        PayerSchedule(
            bmi=PayerTerms(
                deductible=_levels("300.00", "600.00", "1000.00", "1500.00"),
                ratio=_levels("0.85", "0.65", "0.60", "0.55"),
                annual_cap=Decimal("150000.00"),
            ),
            cii=PayerTerms(
                deductible=_flat("10000.00"),
                ratio=_flat("0.50"),
                annual_cap=Decimal("300000.00"),
            ),
        ),
        "Inpatient terms for everyone else (no 医疗救助)",
        "",
        PayerSchedule,
    ),
    Parameter(
        OUTPATIENT_AIDED,
        PayerSchedule(
            bmi=PayerTerms(
                deductible=_flat("0.00"), ratio=_flat("0.60"), annual_cap=Decimal("3000.00")
            ),
            ma=PayerTerms(
                deductible=_flat("0.00"), ratio=_flat("0.50"), annual_cap=Decimal("2000.00")
            ),
        ),
        "Outpatient terms (门诊统筹, 门诊慢性病) for 四类人员",
        "",
        PayerSchedule,
    ),
    Parameter(
        OUTPATIENT_GENERAL,
        PayerSchedule(
            bmi=PayerTerms(
                deductible=_flat("0.00"), ratio=_flat("0.50"), annual_cap=Decimal("3000.00")
            ),
        ),
        "Outpatient terms for everyone else",
        "",
        PayerSchedule,
    ),
    Parameter(
        PERSONAL_CAP_RATIO,
        {HospitalLevel.township: Decimal("0.05"), HospitalLevel.county: Decimal("0.10")},
        "建档立卡 inpatients: most of the compliant cost they pay themselves, by hospital level "
        "(县域内 ≤10%, 乡镇 ≤5%); a level not listed is not capped",
        "",
        dict[HospitalLevel, Ratio],
    ),
    Parameter(
        ACTUAL_SHARE_TARGET,
        {HospitalLevel.township: Decimal("0.05"), HospitalLevel.county: Decimal("0.10")},
        "Target of the personal share of the whole cost (out-of-catalogue included): above "
        "it a settlement carries a warning, never a refusal",
        "",
        dict[HospitalLevel, Ratio],
    ),
    Parameter(
        SUPPLEMENTARY_CAP,
        Decimal("20000.00"),
        "补充保险 (扶贫补充医疗保险) annual cap a person; the county 兜底 fund pays the rest "
        "of what keeps the personal cap",
        "元/人/年",
        NonNegativeMoney,
    ),
    Parameter(
        CRITICAL_CII_DEDUCTIBLE_WAIVED,
        True,
        "大病专项救治: a claim for the disease of an open case, at its designated (or "
        "referral) hospital, pays no 大病保险 起付线 whatever the patient's group",
        "",
        bool,
    ),
    Parameter(
        KEY_CHRONIC_CONDITIONS,
        {
            "hypertension": "高血压",
            "diabetes": "糖尿病",
            "tuberculosis": "结核病",
            "severe_mental_disorder": "严重精神障碍",
        },
        "4类慢病 重点人群 of family-doctor contracts (code → name), each owed the minimum of "
        "face-to-face follow-ups a year; the seeds name 高血压, the other three are the "
        "default",
        "",
        dict[ConditionCode, str],
    ),
    Parameter(
        OTHER_CHRONIC_CONDITIONS,
        {
            "cerebrovascular": "脑血管病",
            "coronary_heart_disease": "冠心病",
            "copd": "慢性阻塞性肺疾病",
            "rheumatoid_arthritis": "类风湿性关节炎",
            "osteoarthritis": "骨关节病",
            "chronic_hepatitis": "慢性肝炎",
        },
        "6类慢病 with a personalised contract package (个性化签约服务), no follow-up minimum; "
        "the seeds name 脑血管病, the other five are illustrative defaults",
        "",
        dict[ConditionCode, str],
    ),
    Parameter(
        MIN_FACE_TO_FACE,
        4,
        "Face-to-face follow-ups a year owed to a contracted person with a 4类慢病 "
        "(每年不少于4次面对面随访): below it the contract is not kept (未履约)",
        "次/年",
        Annotated[int, Field(ge=0, le=366)],
    ),
    Parameter(
        DIALYSIS_SUBSIDY,
        Decimal("100.00"),
        "County subsidy for each haemodialysis session (县级透析补助, 每次100元)",
        "元/次",
        NonNegativeMoney,
    ),
]

policy = PolicyBook(policy_table, PARAMETERS, audit)
