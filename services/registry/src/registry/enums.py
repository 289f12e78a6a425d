"""The registry's own enumerations: used by its API, tables and import template only (no
event carries them, no other service reads them). Their Chinese labels join the shared
``LABELS``, so ``describe`` shows them as it shows the shared ones (DOMAIN §2.2)."""

from enum import StrEnum

from contracts.enums import LABELS


class IncomeType(StrEnum):
    """收入类型 of the annual household survey."""

    wage = "wage"  # 工资性收入
    business = "business"  # 经营性收入
    farming = "farming"  # 种植养殖收入
    property = "property"  # 财产性收入
    transfer = "transfer"  # 转移性收入 (低保, pensions, subsidies)


class Asset(StrEnum):
    """显性财产: assets that must be explained before a household is registered."""

    car = "car"  # 小汽车
    urban_house = "urban_house"  # 城镇商品房
    shop = "shop"  # 商铺
    business = "business"  # 经营实体
    livestock = "livestock"  # 规模养殖


class EducationLevel(StrEnum):
    """文化程度."""

    preschool = "preschool"  # 学龄前
    illiterate = "illiterate"  # 文盲或半文盲
    primary = "primary"  # 小学
    junior = "junior"  # 初中
    senior = "senior"  # 高中
    vocational = "vocational"  # 中职/技校
    college = "college"  # 大专及以上


class PersonGroup(StrEnum):
    """特殊群体."""

    left_behind_child = "left_behind_child"  # 留守儿童
    left_behind_elderly = "left_behind_elderly"  # 留守老人
    left_behind_woman = "left_behind_woman"  # 留守妇女
    orphan = "orphan"  # 孤儿
    elderly_living_alone = "elderly_living_alone"  # 独居老人


class RemovalReason(StrEnum):
    """清退 reason codes."""

    wrongly_included = "wrongly_included"  # 不符合识别标准 (错评)
    unexplained_car_house = "unexplained_car_house"  # 有车有房不能合理解释
    duplicate = "duplicate"  # 重复录入
    household_dissolved = "household_dissolved"  # 整户消亡/迁出
    other = "other"  # 其他


class MemberChangeCause(StrEnum):
    """Why a person joins or leaves a household (自然增减 / 户内人员增减)."""

    birth = "birth"  # 出生 (自然增加)
    death = "death"  # 死亡 (自然减少)
    marriage = "marriage"  # 婚嫁
    migration = "migration"  # 迁入/迁出
    household_split = "household_split"  # 分户/户间调整
    other = "other"  # 其他


LABELS.add(
    [
        (IncomeType.wage, "工资性收入"),
        (IncomeType.business, "经营性收入"),
        (IncomeType.farming, "种植养殖收入"),
        (IncomeType.property, "财产性收入"),
        (IncomeType.transfer, "转移性收入"),
        (Asset.car, "小汽车"),
        (Asset.urban_house, "城镇商品房"),
        (Asset.shop, "商铺"),
        (Asset.business, "经营实体"),
        (Asset.livestock, "规模养殖"),
        (EducationLevel.preschool, "学龄前"),
        (EducationLevel.illiterate, "文盲或半文盲"),
        (EducationLevel.primary, "小学"),
        (EducationLevel.junior, "初中"),
        (EducationLevel.senior, "高中"),
        (EducationLevel.vocational, "中职/技校"),
        (EducationLevel.college, "大专及以上"),
        (PersonGroup.left_behind_child, "留守儿童"),
        (PersonGroup.left_behind_elderly, "留守老人"),
        (PersonGroup.left_behind_woman, "留守妇女"),
        (PersonGroup.orphan, "孤儿"),
        (PersonGroup.elderly_living_alone, "独居老人"),
        (RemovalReason.wrongly_included, "不符合识别标准"),
        (RemovalReason.unexplained_car_house, "有车有房不能合理解释"),
        (RemovalReason.duplicate, "重复录入"),
        (RemovalReason.household_dissolved, "整户消亡或迁出"),
        (RemovalReason.other, "其他"),
        (MemberChangeCause.birth, "出生"),
        (MemberChangeCause.death, "死亡"),
        (MemberChangeCause.marriage, "婚嫁"),
        (MemberChangeCause.migration, "迁入迁出"),
        (MemberChangeCause.household_split, "户间调整"),
        (MemberChangeCause.other, "其他"),
    ]
)
