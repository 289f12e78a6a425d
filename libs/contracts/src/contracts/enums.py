"""Shared enumerations of the poverty-alleviation domain (DOMAIN.md §2.2–§2.3).

Values are stable English identifiers; the Chinese label every user recognises is kept in
``LABELS`` and shown in OpenAPI descriptions.
"""

from enum import StrEnum


class PovertyCause(StrEnum):
    """致贫原因: the 12 causes of the household survey plus 其他."""

    illness = "illness"  # 因病
    disability = "disability"  # 因残
    schooling = "schooling"  # 因学
    disaster = "disaster"  # 因灾
    lack_land = "lack_land"  # 缺土地
    lack_water = "lack_water"  # 缺水
    lack_skills = "lack_skills"  # 缺技术
    lack_labour = "lack_labour"  # 缺劳力
    lack_funds = "lack_funds"  # 缺资金
    poor_transport = "poor_transport"  # 交通条件落后
    no_sustainable_industry = "no_sustainable_industry"  # 缺可持续发展产业
    low_motivation = "low_motivation"  # 自身发展动力不足
    other = "other"  # 其他


class PovertyState(StrEnum):
    """贫困状态 (axis 2): intake, then the registered life cycle."""

    candidate = "candidate"  # 疑似
    applied = "applied"  # 申请
    surveyed = "surveyed"  # 入户调查
    rejected = "rejected"  # 剔除
    shortlisted = "shortlisted"  # 初选
    appraised = "appraised"  # 民主评议通过
    publicised = "publicised"  # 公示中
    registered = "registered"  # 建档立卡
    planned_exit = "planned_exit"  # 拟脱贫
    exited = "exited"  # 已脱贫
    exited_monitored = "exited_monitored"  # 脱贫监测
    returned = "returned"  # 返贫
    removed = "removed"  # 清退


#: States counted as poor (贫困人口) in incidence and coverage figures.
COUNTED_AS_POOR = frozenset(
    {PovertyState.registered, PovertyState.planned_exit, PovertyState.returned}
)


class AssistanceType(StrEnum):
    """帮扶类型 (axis 1)."""

    general = "general"  # 一般户
    dibao = "dibao"  # 低保户
    tekun = "tekun"  # 特困供养/五保户


class MonitoringCategory(StrEnum):
    """监测类别 (axis 3)."""

    none = "none"  # 无
    marginal = "marginal"  # 边缘户
    unstable_exited = "unstable_exited"  # 脱贫不稳定户
    sudden_hardship = "sudden_hardship"  # 突发严重困难户


class LabourCapacity(StrEnum):
    """劳动能力."""

    able = "able"  # 有劳动能力
    weak = "weak"  # 弱劳动能力
    none = "none"  # 无/丧失劳动能力


class Relation(StrEnum):
    """与户主关系."""

    head = "head"  # 户主
    spouse = "spouse"  # 配偶
    child = "child"  # 子女
    child_in_law = "child_in_law"  # 儿媳/女婿
    parent = "parent"  # 父母
    grandchild = "grandchild"  # 孙子女
    sibling = "sibling"  # 兄弟姐妹
    other = "other"  # 其他


class Gender(StrEnum):
    male = "male"  # 男
    female = "female"  # 女


class RegionLevel(StrEnum):
    """行政区划级别."""

    province = "province"  # 省
    city = "city"  # 市
    county = "county"  # 县/区
    township = "township"  # 乡/镇
    village = "village"  # 村/社区


LABELS: dict[StrEnum, str] = {
    PovertyCause.illness: "因病",
    PovertyCause.disability: "因残",
    PovertyCause.schooling: "因学",
    PovertyCause.disaster: "因灾",
    PovertyCause.lack_land: "缺土地",
    PovertyCause.lack_water: "缺水",
    PovertyCause.lack_skills: "缺技术",
    PovertyCause.lack_labour: "缺劳力",
    PovertyCause.lack_funds: "缺资金",
    PovertyCause.poor_transport: "交通条件落后",
    PovertyCause.no_sustainable_industry: "缺可持续发展产业",
    PovertyCause.low_motivation: "自身发展动力不足",
    PovertyCause.other: "其他",
    PovertyState.candidate: "疑似",
    PovertyState.applied: "申请",
    PovertyState.surveyed: "入户调查",
    PovertyState.rejected: "剔除",
    PovertyState.shortlisted: "初选",
    PovertyState.appraised: "民主评议通过",
    PovertyState.publicised: "公示中",
    PovertyState.registered: "建档立卡",
    PovertyState.planned_exit: "拟脱贫",
    PovertyState.exited: "已脱贫",
    PovertyState.exited_monitored: "脱贫监测",
    PovertyState.returned: "返贫",
    PovertyState.removed: "清退",
    AssistanceType.general: "一般户",
    AssistanceType.dibao: "低保户",
    AssistanceType.tekun: "特困供养户",
    MonitoringCategory.none: "无",
    MonitoringCategory.marginal: "边缘户",
    MonitoringCategory.unstable_exited: "脱贫不稳定户",
    MonitoringCategory.sudden_hardship: "突发严重困难户",
    LabourCapacity.able: "有劳动能力",
    LabourCapacity.weak: "弱劳动能力",
    LabourCapacity.none: "无劳动能力",
    Relation.head: "户主",
    Relation.spouse: "配偶",
    Relation.child: "子女",
    Relation.child_in_law: "儿媳/女婿",
    Relation.parent: "父母",
    Relation.grandchild: "孙子女",
    Relation.sibling: "兄弟姐妹",
    Relation.other: "其他",
    Gender.male: "男",
    Gender.female: "女",
    RegionLevel.province: "省",
    RegionLevel.city: "市",
    RegionLevel.county: "县/区",
    RegionLevel.township: "乡/镇",
    RegionLevel.village: "村/社区",
}


def describe(enum_cls: type[StrEnum]) -> str:
    """'value (中文), …' for OpenAPI descriptions."""
    return ", ".join(f"`{m.value}` {LABELS.get(m, '')}".rstrip() for m in enum_cls)
