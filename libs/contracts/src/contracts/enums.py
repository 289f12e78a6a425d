"""Shared enumerations of the poverty-alleviation domain (DOMAIN §2.2–§2.3): those an event
carries, or more than one service or library uses. One service's own enumerations live in
that service (the registry's in ``registry.enums``).

Values are stable English identifiers; the Chinese label every user recognises is kept in
``LABELS`` and shown in OpenAPI descriptions. A service's own enumerations add their labels
with ``LABELS.add`` where they are defined, so ``LABELS`` and :func:`describe` serve every
enumeration alike.
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
#: 建档立卡户: registered at some time and not removed, exited ones included.
REGISTERED_STATES = COUNTED_AS_POOR | {PovertyState.exited, PovertyState.exited_monitored}


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


class HukouType(StrEnum):
    """户籍性质."""

    rural = "rural"  # 农业户口
    urban = "urban"  # 非农业户口


class WorkflowStage(StrEnum):
    """Where a household stands inside a multi-step state (公示中, 拟脱贫)."""

    village_publicity = "village_publicity"  # 村公示
    township_publicity = "township_publicity"  # 乡镇审核公示
    county_notice = "county_notice"  # 县复审公告
    exit_nominated = "exit_nominated"  # 村民小组提名
    exit_publicity = "exit_publicity"  # 村级评议后公示
    exit_township_checked = "exit_township_checked"  # 乡级初核


class PublicityPurpose(StrEnum):
    """公示 action."""

    inclusion = "inclusion"  # 纳入
    exit = "exit"  # 脱贫


class ObjectionStatus(StrEnum):
    open = "open"  # 待核实
    upheld = "upheld"  # 异议成立
    dismissed = "dismissed"  # 异议不成立


class AdjustmentKind(StrEnum):
    """动态调整 kinds."""

    new_identification = "new_identification"  # 新识别
    backfill = "backfill"  # 补录
    removal = "removal"  # 清退
    return_to_poverty = "return_to_poverty"  # 返贫
    natural_change = "natural_change"  # 自然增减
    merge = "merge"  # 并户
    member_change = "member_change"  # 户内人员增减
    rollback = "rollback"  # 回退 (脱贫不实)
    re_inclusion = "re_inclusion"  # 重新纳入


class HelperRank(StrEnum):
    """帮扶责任人 rank: sets how many households they may help."""

    section_level = "section_level"  # 科级及以上领导干部
    ordinary = "ordinary"  # 一般干部


# --- 防返贫监测 (monitoring against returning to poverty) and the events it reacts to ----


class AlertKind(StrEnum):
    """返贫风险 trigger of a risk alert (DOMAIN §2.11)."""

    high_medical_cost = "high_medical_cost"  # 高额医疗支出
    critical_illness = "critical_illness"  # 大病
    dialysis = "dialysis"  # 血液透析
    dangerous_house = "dangerous_house"  # 危房 (C/D级)
    dropout = "dropout"  # 义务教育辍学
    disaster = "disaster"  # 突发灾祸
    income_drop = "income_drop"  # 收入骤减
    manual = "manual"  # 人工上报
    other = "other"  # 其他


class AlertStatus(StrEnum):
    """Life cycle of a risk alert: only forward."""

    open = "open"  # 待核实
    assessed = "assessed"  # 已研判
    assisted = "assisted"  # 已帮扶
    closed = "closed"  # 已解除


class AlertAssessment(StrEnum):
    """研判结论: a monitoring category, or not at risk (which closes the alert)."""

    marginal = "marginal"  # 边缘户
    unstable_exited = "unstable_exited"  # 脱贫不稳定户
    sudden_hardship = "sudden_hardship"  # 突发严重困难户
    not_at_risk = "not_at_risk"  # 无返贫致贫风险


class HospitalLevel(StrEnum):
    """Level of the settling hospital (sets the out-of-pocket cap, DOMAIN §4.2)."""

    township = "township"  # 乡镇卫生院
    county = "county"  # 县级医院
    municipal = "municipal"  # 市级医院
    provincial = "provincial"  # 省级及以上医院


class HouseGrade(StrEnum):
    """房屋安全鉴定等级: A/B safe, C repair, D rebuild (DOMAIN §5)."""

    A = "A"  # 安全
    B = "B"  # 基本安全
    C = "C"  # 局部危险 (维修加固)
    D = "D"  # 整体危险 (拆旧建新)


class SchoolStage(StrEnum):
    """学段 (DOMAIN §3)."""

    preschool = "preschool"  # 学前教育
    primary = "primary"  # 小学
    junior = "junior"  # 初中
    senior_high = "senior_high"  # 普通高中
    secondary_vocational = "secondary_vocational"  # 中职
    higher_vocational = "higher_vocational"  # 高职
    university = "university"  # 本科及以上


class EnrolmentStatus(StrEnum):
    """学籍状态 (DOMAIN §3): at school, or in an evidenced alternative mode, or not."""

    enrolled = "enrolled"  # 在校
    dropped_out = "dropped_out"  # 辍学
    home_teaching = "home_teaching"  # 送教上门
    distance = "distance"  # 远程教育
    special_school = "special_school"  # 特殊学校
    graduated = "graduated"  # 毕业


class AidProgramme(StrEnum):
    """资助项目 (DOMAIN §3.2): what an education aid grant is paid from."""

    preschool = "preschool"  # 学前资助 (生活补助)
    boarding_allowance = "boarding_allowance"  # 两免一补: 寄宿生生活补助
    nutrition = "nutrition"  # 营养改善计划 (营养餐)
    senior_high_grant = "senior_high_grant"  # 普通高中 国家助学金
    senior_high_fee_waiver = "senior_high_fee_waiver"  # 普通高中 免学杂费
    vocational_fee_waiver = "vocational_fee_waiver"  # 中职 免学费
    vocational_grant = "vocational_grant"  # 中职 国家助学金
    vocational_one_off = "vocational_one_off"  # 中高职 一次性扶贫助学补助
    yulu = "yulu"  # 雨露计划
    charity_school = "charity_school"  # 社会慈善助学 (中小学、普通高中)
    charity_university_entry = "charity_university_entry"  # 特困生/孤儿 大学入学资助
    charity_university_yearly = "charity_university_yearly"  # 特困生/孤儿 大学每学年资助


class SchoolTerm(StrEnum):
    """学期 of a school year (学年, named by the year it begins): autumn, then spring."""

    autumn = "autumn"  # 秋季学期
    spring = "spring"  # 春季学期


class DropoutCaseStatus(StrEnum):
    """劝返 case (控辍保学, DOMAIN §3.1): open until its outcome is recorded."""

    open = "open"  # 劝返中
    closed = "closed"  # 已结案


class DropoutCaseOutcome(StrEnum):
    """How a 劝返 case ended."""

    returned = "returned"  # 劝返复学
    alternative_mode = "alternative_mode"  # 送教上门、远程教育或特殊学校 (with evidence)
    exempt = "exempt"  # 免于入学 / 延缓入学 (with evidence)


class ReliefCause(StrEnum):
    """临时救助 cause (DOMAIN §6)."""

    disaster = "disaster"  # 突发灾祸 (自然灾害、火灾等)
    illness = "illness"  # 重大疾病
    accident = "accident"  # 意外事故
    schooling = "schooling"  # 就学困难
    other = "other"  # 其他


class HelperRole(StrEnum):
    """Place of a helper in a household's 帮扶小组: one primary helper, optional members."""

    primary = "primary"  # 帮扶责任人
    member = "member"  # 帮扶小组成员


class VisitKind(StrEnum):
    """How a helper kept in touch with a household (帮扶记录)."""

    home_visit = "home_visit"  # 入户走访
    phone = "phone"  # 电话联系
    meeting = "meeting"  # 集中座谈
    other = "other"  # 其他


class _Labels(dict):
    """Chinese labels keyed by (enum class, value).

    Members of different enums may share a value (``LabourCapacity.none`` and
    ``MonitoringCategory.none``) and a StrEnum hashes like its string, so a plain dict
    would keep one label for both."""

    def __init__(self, pairs: list[tuple[StrEnum, str]]) -> None:
        super().__init__()
        self.add(pairs)

    def add(self, pairs: list[tuple[StrEnum, str]]) -> None:
        """The labels of further members (a service's own enumerations, where it defines
        them); a member labelled twice is a mistake."""
        for member, label in pairs:
            key = (type(member), member.value)
            if super().__contains__(key):
                raise ValueError(f"{member!r} already has a label")
            super().__setitem__(key, label)

    def __getitem__(self, member: StrEnum) -> str:
        return super().__getitem__((type(member), member.value))

    def __contains__(self, member: object) -> bool:
        return isinstance(member, StrEnum) and super().__contains__((type(member), member.value))

    def get(self, member: StrEnum, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get((type(member), member.value), default)


LABELS = _Labels(
    [
        (PovertyCause.illness, "因病"),
        (PovertyCause.disability, "因残"),
        (PovertyCause.schooling, "因学"),
        (PovertyCause.disaster, "因灾"),
        (PovertyCause.lack_land, "缺土地"),
        (PovertyCause.lack_water, "缺水"),
        (PovertyCause.lack_skills, "缺技术"),
        (PovertyCause.lack_labour, "缺劳力"),
        (PovertyCause.lack_funds, "缺资金"),
        (PovertyCause.poor_transport, "交通条件落后"),
        (PovertyCause.no_sustainable_industry, "缺可持续发展产业"),
        (PovertyCause.low_motivation, "自身发展动力不足"),
        (PovertyCause.other, "其他"),
        (PovertyState.candidate, "疑似"),
        (PovertyState.applied, "申请"),
        (PovertyState.surveyed, "入户调查"),
        (PovertyState.rejected, "剔除"),
        (PovertyState.shortlisted, "初选"),
        (PovertyState.appraised, "民主评议通过"),
        (PovertyState.publicised, "公示中"),
        (PovertyState.registered, "建档立卡"),
        (PovertyState.planned_exit, "拟脱贫"),
        (PovertyState.exited, "已脱贫"),
        (PovertyState.exited_monitored, "脱贫监测"),
        (PovertyState.returned, "返贫"),
        (PovertyState.removed, "清退"),
        (AssistanceType.general, "一般户"),
        (AssistanceType.dibao, "低保户"),
        (AssistanceType.tekun, "特困供养户"),
        (MonitoringCategory.none, "无"),
        (MonitoringCategory.marginal, "边缘户"),
        (MonitoringCategory.unstable_exited, "脱贫不稳定户"),
        (MonitoringCategory.sudden_hardship, "突发严重困难户"),
        (LabourCapacity.able, "有劳动能力"),
        (LabourCapacity.weak, "弱劳动能力"),
        (LabourCapacity.none, "无劳动能力"),
        (Relation.head, "户主"),
        (Relation.spouse, "配偶"),
        (Relation.child, "子女"),
        (Relation.child_in_law, "儿媳/女婿"),
        (Relation.parent, "父母"),
        (Relation.grandchild, "孙子女"),
        (Relation.sibling, "兄弟姐妹"),
        (Relation.other, "其他"),
        (Gender.male, "男"),
        (Gender.female, "女"),
        (RegionLevel.province, "省"),
        (RegionLevel.city, "市"),
        (RegionLevel.county, "县/区"),
        (RegionLevel.township, "乡/镇"),
        (RegionLevel.village, "村/社区"),
        (HukouType.rural, "农业户口"),
        (HukouType.urban, "非农业户口"),
        (WorkflowStage.village_publicity, "村公示"),
        (WorkflowStage.township_publicity, "乡镇审核公示"),
        (WorkflowStage.county_notice, "县复审公告"),
        (WorkflowStage.exit_nominated, "村民小组提名"),
        (WorkflowStage.exit_publicity, "村级评议公示"),
        (WorkflowStage.exit_township_checked, "乡级初核"),
        (PublicityPurpose.inclusion, "纳入"),
        (PublicityPurpose.exit, "脱贫"),
        (ObjectionStatus.open, "待核实"),
        (ObjectionStatus.upheld, "异议成立"),
        (ObjectionStatus.dismissed, "异议不成立"),
        (AdjustmentKind.new_identification, "新识别"),
        (AdjustmentKind.backfill, "补录"),
        (AdjustmentKind.removal, "清退"),
        (AdjustmentKind.return_to_poverty, "返贫"),
        (AdjustmentKind.natural_change, "自然增减"),
        (AdjustmentKind.merge, "并户"),
        (AdjustmentKind.member_change, "户内人员增减"),
        (AdjustmentKind.rollback, "回退"),
        (AdjustmentKind.re_inclusion, "重新纳入"),
        (HelperRank.section_level, "科级及以上领导干部"),
        (HelperRank.ordinary, "一般干部"),
        (AlertKind.high_medical_cost, "高额医疗支出"),
        (AlertKind.critical_illness, "大病"),
        (AlertKind.dialysis, "血液透析"),
        (AlertKind.dangerous_house, "危房"),
        (AlertKind.dropout, "义务教育辍学"),
        (AlertKind.disaster, "突发灾祸"),
        (AlertKind.income_drop, "收入骤减"),
        (AlertKind.manual, "人工上报"),
        (AlertKind.other, "其他"),
        (AlertStatus.open, "待核实"),
        (AlertStatus.assessed, "已研判"),
        (AlertStatus.assisted, "已帮扶"),
        (AlertStatus.closed, "已解除"),
        (AlertAssessment.marginal, "边缘户"),
        (AlertAssessment.unstable_exited, "脱贫不稳定户"),
        (AlertAssessment.sudden_hardship, "突发严重困难户"),
        (AlertAssessment.not_at_risk, "无返贫致贫风险"),
        (HospitalLevel.township, "乡镇卫生院"),
        (HospitalLevel.county, "县级医院"),
        (HospitalLevel.municipal, "市级医院"),
        (HospitalLevel.provincial, "省级及以上医院"),
        (HouseGrade.A, "A级 安全"),
        (HouseGrade.B, "B级 基本安全"),
        (HouseGrade.C, "C级 局部危险"),
        (HouseGrade.D, "D级 整体危险"),
        (SchoolStage.preschool, "学前教育"),
        (SchoolStage.primary, "小学"),
        (SchoolStage.junior, "初中"),
        (SchoolStage.senior_high, "普通高中"),
        (SchoolStage.secondary_vocational, "中职"),
        (SchoolStage.higher_vocational, "高职"),
        (SchoolStage.university, "本科及以上"),
        (EnrolmentStatus.enrolled, "在校"),
        (EnrolmentStatus.dropped_out, "辍学"),
        (EnrolmentStatus.home_teaching, "送教上门"),
        (EnrolmentStatus.distance, "远程教育"),
        (EnrolmentStatus.special_school, "特殊学校"),
        (EnrolmentStatus.graduated, "毕业"),
        (AidProgramme.preschool, "学前资助"),
        (AidProgramme.boarding_allowance, "寄宿生生活补助 (两免一补)"),
        (AidProgramme.nutrition, "营养改善计划"),
        (AidProgramme.senior_high_grant, "普通高中国家助学金"),
        (AidProgramme.senior_high_fee_waiver, "普通高中免学杂费"),
        (AidProgramme.vocational_fee_waiver, "中职免学费"),
        (AidProgramme.vocational_grant, "中职国家助学金"),
        (AidProgramme.vocational_one_off, "中高职一次性扶贫助学补助"),
        (AidProgramme.yulu, "雨露计划"),
        (AidProgramme.charity_school, "社会慈善助学"),
        (AidProgramme.charity_university_entry, "特困生/孤儿大学入学资助"),
        (AidProgramme.charity_university_yearly, "特困生/孤儿大学每学年资助"),
        (SchoolTerm.autumn, "秋季学期"),
        (SchoolTerm.spring, "春季学期"),
        (DropoutCaseStatus.open, "劝返中"),
        (DropoutCaseStatus.closed, "已结案"),
        (DropoutCaseOutcome.returned, "劝返复学"),
        (DropoutCaseOutcome.alternative_mode, "送教上门/远程教育/特殊学校"),
        (DropoutCaseOutcome.exempt, "免于入学 (有佐证)"),
        (ReliefCause.disaster, "突发灾祸"),
        (ReliefCause.illness, "重大疾病"),
        (ReliefCause.accident, "意外事故"),
        (ReliefCause.schooling, "就学困难"),
        (ReliefCause.other, "其他"),
        (HelperRole.primary, "帮扶责任人"),
        (HelperRole.member, "帮扶小组成员"),
        (VisitKind.home_visit, "入户走访"),
        (VisitKind.phone, "电话联系"),
        (VisitKind.meeting, "集中座谈"),
        (VisitKind.other, "其他"),
    ]
)


def describe(enum_cls: type[StrEnum]) -> str:
    """'value (中文), …' for OpenAPI descriptions."""
    return ", ".join(f"`{m.value}` {LABELS.get(m, '')}".rstrip() for m in enum_cls)
