"""Monitoring rules (DOMAIN §2.11), pure: which department facts raise an alert, what an
open alert does to the household, and how an alert moves on. No I/O; numbers come in as
policy values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from contracts.enums import (
    AlertAssessment,
    AlertKind,
    AlertStatus,
    HouseGrade,
    MonitoringCategory,
    PovertyState,
    ReliefCause,
)
from contracts.events import education, health, housing, low_income
from contracts.money import quantize
from kit.problems import Problem
from registry import errors
from registry.workflow.machine import REGISTERED_TYPES, Action

DANGEROUS_GRADES = frozenset({HouseGrade.C, HouseGrade.D})


def medical_cost_threshold(
    floor: Decimal, income_ratio: Decimal, per_capita_net_income: Decimal | None, persons: int
) -> Decimal:
    """max(floor, ratio × household annual net income); income = 人均纯收入 × 人数.
    Without a survey the income share is unknown and the floor alone applies."""
    income = (per_capita_net_income or Decimal(0)) * persons
    return max(floor, quantize(income * income_ratio))


def medical_cost_exceeds(annual_out_of_pocket: Decimal, threshold: Decimal) -> bool:
    return annual_out_of_pocket > threshold  # 超过: the threshold itself does not raise


def trigger_kind(payload: object) -> AlertKind | None:
    """The alert a one-off department fact raises, or None if it does not concern monitoring.
    (A settled claim is judged on the year's total, see :func:`medical_cost_exceeds`.)"""
    match payload:
        case health.DiseaseDiagnosed(critical=True):
            return AlertKind.critical_illness
        case health.DialysisStarted():
            return AlertKind.dialysis
        case housing.AppraisalRecorded(grade=grade) if grade in DANGEROUS_GRADES:
            return AlertKind.dangerous_house
        case education.StudentDroppedOut(compulsory=True):
            return AlertKind.dropout
        case low_income.ReliefPaid(cause=ReliefCause.disaster):
            return AlertKind.disaster
    return None


@dataclass(frozen=True)
class Effect:
    """What an open alert does to its household: a workflow step, or a new category."""

    action: Action | None = None
    category: MonitoringCategory | None = None


def household_effect(
    state: PovertyState,
    current: MonitoringCategory,
    kind: AlertKind,
    *,
    rural_dialysis_patient: bool = False,
) -> Effect:
    """DOMAIN §2.11: an exited household goes under monitoring (脱贫不稳定户); a household
    outside the register becomes 边缘户 (突发严重困难户 after a disaster); a registered one
    keeps its state. A rural dialysis patient's household is registered (全部纳入)."""
    if rural_dialysis_patient and state not in REGISTERED_TYPES:
        return Effect(action=Action.auto_register)
    if state == PovertyState.exited:
        return Effect(action=Action.start_monitoring, category=MonitoringCategory.unstable_exited)
    if state in REGISTERED_TYPES:
        return Effect()
    if kind == AlertKind.disaster:
        category = MonitoringCategory.sudden_hardship
    elif current != MonitoringCategory.none:
        category = current  # already monitored: a second alert does not downgrade it
    else:
        category = MonitoringCategory.marginal
    return Effect(category=category if category != current else None)


class AlertTransitionRefused(Problem):
    """A step an alert cannot take: a catalogued 409 (``registry.errors``)."""


ALERT_STEPS: dict[str, tuple[AlertStatus, AlertStatus]] = {
    "assess": (AlertStatus.open, AlertStatus.assessed),  # 研判
    "assist": (AlertStatus.assessed, AlertStatus.assisted),  # 帮扶
    "close": (AlertStatus.assisted, AlertStatus.closed),  # 解除
}


def next_status(
    action: str, current: AlertStatus, assessment: AlertAssessment | None = None
) -> AlertStatus:
    """Only forward: open → assessed → assisted → closed; an assessment of
    ``not_at_risk`` closes the alert at once."""
    source, target = ALERT_STEPS[action]
    if current != source:
        order = " → ".join(s.value for s in AlertStatus)
        raise AlertTransitionRefused(
            errors.ALERT_TRANSITION_REFUSED,
            f"cannot {action} an alert that is {current.value}: {action} follows "
            f"{source.value} (alerts only move forward: {order})",
        )
    if action == "assess" and assessment == AlertAssessment.not_at_risk:
        return AlertStatus.closed
    return target
