"""The household status dimensions (两不愁三保障 + safe water) and exit readiness.

Pure rules over plain data (DOMAIN §1.5, §8.1); no I/O.
"""

from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    income = "income"  # 一超: per-capita net income above the poverty line
    food_clothing = "food_clothing"  # 不愁吃穿
    water = "water"  # 饮水安全
    education = "education"  # 义务教育有保障
    medical = "medical"  # 基本医疗有保障
    housing = "housing"  # 住房安全有保障


class DimensionState(StrEnum):
    ok = "ok"
    not_ok = "not_ok"
    unknown = "unknown"


#: The service whose events decide each dimension.
OWNER: dict[Dimension, str] = {
    Dimension.income: "registry",
    Dimension.food_clothing: "registry",
    Dimension.water: "registry",
    Dimension.education: "education",
    Dimension.medical: "health",
    Dimension.housing: "housing",
}

LABELS: dict[Dimension, str] = {
    Dimension.income: "收入超过贫困线 (一超)",
    Dimension.food_clothing: "不愁吃、不愁穿",
    Dimension.water: "饮水安全",
    Dimension.education: "义务教育有保障",
    Dimension.medical: "基本医疗有保障",
    Dimension.housing: "住房安全有保障",
}

NO_DATA_YET = "NO_DATA_YET"
REASON_TEXT = {NO_DATA_YET: "no data yet: no event from the owning service has reached the gateway"}


def initial_dimensions() -> dict[str, dict]:
    """Every dimension unknown until its owning service reports."""
    return {
        d.value: {
            "status": DimensionState.unknown.value,
            "reason": NO_DATA_YET,
            "source": OWNER[d],
            "event_id": None,
            "as_of": None,
        }
        for d in Dimension
    }


def exit_readiness(dimensions: dict[str, dict]) -> tuple[str, list[str], list[str]]:
    """(status, blocking, unknown): ``ready`` iff every dimension is ok (DOMAIN §8.1).

    Income alone never suffices (防止只看收入指标): every dimension counts.
    """
    blocking = [
        d.value
        for d in Dimension
        if dimensions.get(d.value, {}).get("status") == DimensionState.not_ok
    ]
    unknown = [
        d.value
        for d in Dimension
        if dimensions.get(d.value, {}).get("status", "unknown") == DimensionState.unknown
    ]
    if blocking:
        return "not_ready", blocking, unknown
    if unknown:
        return "unknown", blocking, unknown
    return "ready", blocking, unknown
