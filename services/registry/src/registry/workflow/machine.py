"""The household state machine (DOMAIN §2.3–§2.6): which action may move a household from
where to where. Pure rules, no I/O: the service asks :func:`decide` before every step.

A household's *position* is its poverty state plus, inside multi-step states, its stage
(which 公示 runs, how far an exit has come).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from contracts.enums import AdjustmentKind, PovertyState, PublicityPurpose, WorkflowStage
from kit.problems import Problem
from registry import errors

S, G = PovertyState, WorkflowStage
Position = tuple[PovertyState, WorkflowStage | None]


class Action(StrEnum):
    # 识别 identification [000]
    apply = "apply"  # 申请
    survey = "survey"  # 入户调查
    appraise = "appraise"  # 民主评议
    publicise = "publicise"  # 村公示
    township_review = "township_review"  # 乡镇审核, then 乡镇公示
    county_review = "county_review"  # 县复审, then 县公告
    register = "register"  # 建档立卡
    # 退出 exit [002]
    nominate_exit = "nominate_exit"  # 村民小组提名 (拟脱贫)
    appraise_exit = "appraise_exit"  # 村级评议, then 公示
    check_exit = "check_exit"  # 乡级初核
    approve_exit = "approve_exit"  # 县级审定 (一超两不愁三保障 checked)
    withdraw_exit = "withdraw_exit"  # taken off the exit plan
    # 动态调整 adjustments [001][003]
    backfill = "backfill"  # 补录
    remove = "remove"  # 清退
    return_to_poverty = "return_to_poverty"  # 返贫
    rollback = "rollback"  # 回退 (脱贫不实)
    re_include = "re_include"  # 重新纳入
    # 防返贫监测
    start_monitoring = "start_monitoring"  # 纳入监测
    end_monitoring = "end_monitoring"  # 解除监测
    auto_register = "auto_register"  # 透析患者全部纳入 (the registry itself, on a health event)


REGISTERED_TYPES = frozenset(
    {S.registered, S.planned_exit, S.returned, S.exited, S.exited_monitored}
)
EXIT_STAGES = (G.exit_nominated, G.exit_publicity, G.exit_township_checked)


@dataclass(frozen=True)
class Rule:
    label: str
    sources: frozenset[Position]
    #: Where the action leads; for ``survey`` and ``appraise`` the outcome decides.
    targets: tuple[Position, ...]
    #: The 公示 it opens: (purpose, stage).
    opens: tuple[PublicityPurpose, WorkflowStage] | None = None
    #: The running 公示 must be over and free of open objections first.
    after_window: bool = False
    #: Recorded as this kind of 动态调整.
    adjustment: AdjustmentKind | None = None
    #: Taken by the registry itself on another department's event, never by a caller.
    system: bool = False


def _at(*states: PovertyState, stages: tuple = (None,)) -> frozenset[Position]:
    return frozenset((s, g) for s in states for g in stages)


RULES: dict[Action, Rule] = {
    Action.apply: Rule("申请", _at(S.candidate, S.rejected, S.removed), ((S.applied, None),)),
    Action.survey: Rule(
        "入户调查", _at(S.applied, S.surveyed), ((S.shortlisted, None), (S.rejected, None))
    ),
    Action.appraise: Rule(
        "民主评议", _at(S.shortlisted), ((S.appraised, None), (S.rejected, None))
    ),
    Action.publicise: Rule(
        "村公示",
        _at(S.appraised),
        ((S.publicised, G.village_publicity),),
        opens=(PublicityPurpose.inclusion, G.village_publicity),
    ),
    Action.township_review: Rule(
        "乡镇审核公示",
        _at(S.publicised, stages=(G.village_publicity,)),
        ((S.publicised, G.township_publicity),),
        opens=(PublicityPurpose.inclusion, G.township_publicity),
        after_window=True,
    ),
    Action.county_review: Rule(
        "县复审公告",
        _at(S.publicised, stages=(G.township_publicity,)),
        ((S.publicised, G.county_notice),),
        opens=(PublicityPurpose.inclusion, G.county_notice),
        after_window=True,
    ),
    Action.register: Rule(
        "建档立卡",
        _at(S.publicised, stages=(G.county_notice,)),
        ((S.registered, None),),
        after_window=True,
        adjustment=AdjustmentKind.new_identification,
    ),
    Action.nominate_exit: Rule(
        "村民小组提名", _at(S.registered, S.returned), ((S.planned_exit, G.exit_nominated),)
    ),
    Action.appraise_exit: Rule(
        "村级评议",
        _at(S.planned_exit, stages=(G.exit_nominated,)),
        ((S.planned_exit, G.exit_publicity),),
        opens=(PublicityPurpose.exit, G.exit_publicity),
    ),
    Action.check_exit: Rule(
        "乡级初核",
        _at(S.planned_exit, stages=(G.exit_publicity,)),
        ((S.planned_exit, G.exit_township_checked),),
        after_window=True,
    ),
    Action.approve_exit: Rule(
        "县级审定",
        _at(S.planned_exit, stages=(G.exit_township_checked,)),
        ((S.exited, None),),
    ),
    Action.withdraw_exit: Rule(
        "撤出脱贫计划", _at(S.planned_exit, stages=EXIT_STAGES), ((S.registered, None),)
    ),
    Action.backfill: Rule(
        "补录",
        _at(S.candidate, S.applied, S.rejected),
        ((S.registered, None),),
        adjustment=AdjustmentKind.backfill,
    ),
    Action.remove: Rule(
        "清退",
        _at(S.registered, S.returned, S.exited, S.exited_monitored)
        | _at(S.planned_exit, stages=EXIT_STAGES),
        ((S.removed, None),),
        adjustment=AdjustmentKind.removal,
    ),
    Action.return_to_poverty: Rule(
        "返贫",
        _at(S.exited, S.exited_monitored),
        ((S.returned, None),),
        adjustment=AdjustmentKind.return_to_poverty,
    ),
    Action.rollback: Rule(
        "回退",
        _at(S.exited, S.exited_monitored),
        ((S.registered, None),),
        adjustment=AdjustmentKind.rollback,
    ),
    Action.re_include: Rule(
        "重新纳入", _at(S.removed), ((S.registered, None),), adjustment=AdjustmentKind.re_inclusion
    ),
    Action.start_monitoring: Rule("纳入监测", _at(S.exited), ((S.exited_monitored, None),)),
    Action.end_monitoring: Rule("解除监测", _at(S.exited_monitored), ((S.exited, None),)),
    # [004] "血液透析患者是本县农村户籍的全部纳入": no appraisal, from wherever intake stands
    Action.auto_register: Rule(
        "透析患者纳入",
        _at(S.candidate, S.applied, S.surveyed, S.shortlisted, S.appraised, S.rejected, S.removed)
        | _at(S.publicised, stages=(G.village_publicity, G.township_publicity, G.county_notice)),
        ((S.registered, None),),
        adjustment=AdjustmentKind.new_identification,
        system=True,
    ),
}


@dataclass(frozen=True)
class Window:
    """The household's running 公示, as far as the next step cares."""

    stage: WorkflowStage
    end_date: dt.date
    open_objections: int


class IllegalTransition(Problem):
    """A step the workflow does not allow: a catalogued 409 (``registry.errors``)."""


def _name(position: Position) -> str:
    state, stage = position
    return f"{state.value}/{stage.value}" if stage else state.value


def allowed_actions(position: Position, *, system: bool = False) -> list[Action]:
    """Actions possible at ``position``; the registry's own (``system``) ones only if asked."""
    return [
        action
        for action, rule in RULES.items()
        if position in rule.sources and (system or not rule.system)
    ]


def decide(
    action: Action,
    position: Position,
    *,
    today: dt.date,
    window: Window | None = None,
    outcome: Position | None = None,
) -> Position:
    """Where ``action`` takes a household at ``position``, or raise IllegalTransition.

    ``outcome`` picks the target of actions with several (survey, appraise)."""
    rule = RULES[action]
    if position not in rule.sources:
        allowed = ", ".join(sorted(_name(p) for p in rule.sources))
        possible = ", ".join(a.value for a in allowed_actions(position)) or "none"
        raise IllegalTransition(
            errors.ILLEGAL_TRANSITION,
            f"cannot {action.value} ({rule.label}) a household that is {_name(position)}; "
            f"allowed from: {allowed}. Possible now: {possible}",
        )
    if rule.after_window:
        if window is None:
            raise IllegalTransition(errors.NO_PUBLICITY, "no 公示 is running for this household")
        if today <= window.end_date:
            raise IllegalTransition(
                errors.PUBLICITY_RUNNING,
                f"the {window.stage.value} 公示 runs until {window.end_date.isoformat()}; "
                "the next step may follow from the day after",
            )
        if window.open_objections:
            raise IllegalTransition(
                errors.OBJECTION_PENDING,
                f"{window.open_objections} objection(s) to the {window.stage.value} 公示 are "
                "not resolved yet (公示无异议后方可报送)",
            )
    if len(rule.targets) == 1:
        return rule.targets[0]
    if outcome not in rule.targets:
        raise IllegalTransition(errors.OUTCOME_REQUIRED, f"{action.value} needs an outcome")
    return outcome
