"""Properties of the household state machine (pure rules, no database)."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.enums import PovertyState, WorkflowStage
from registry.workflow.machine import (
    RULES,
    Action,
    IllegalTransition,
    Window,
    allowed_actions,
    decide,
)

TODAY = dt.date(2026, 6, 1)
POSITIONS = sorted(
    {p for rule in RULES.values() for p in rule.sources | set(rule.targets)},
    key=lambda p: (p[0].value, p[1] or ""),
)
OVER = Window(WorkflowStage.village_publicity, TODAY - dt.timedelta(days=1), 0)


def _step(action: Action, position, window=OVER):
    rule = RULES[action]
    return decide(action, position, today=TODAY, window=window, outcome=rule.targets[-1])


@given(st.sampled_from(POSITIONS), st.sampled_from(list(Action)))
def test_an_action_is_legal_exactly_where_the_table_allows_it(position, action):
    if position in RULES[action].sources:
        assert _step(action, position) in RULES[action].targets
    else:
        with pytest.raises(IllegalTransition) as refused:
            _step(action, position)
        assert refused.value.code == "ILLEGAL_TRANSITION"
        assert action.value in str(refused.value)


@given(st.lists(st.sampled_from(list(Action)), max_size=40))
def test_no_sequence_registers_a_candidate_without_every_publicity(actions):
    """Without 补录 or 透析患者纳入 (audited adjustments), registration passes all three windows."""
    position = (PovertyState.candidate, None)
    stages_seen: set = set()
    for action in actions:
        if (
            action in (Action.backfill, Action.re_include, Action.auto_register)
            or position not in RULES[action].sources
        ):
            continue
        position = _step(action, position)
        stages_seen.add(position[1])
        if position[0] == PovertyState.registered:
            assert {
                WorkflowStage.village_publicity,
                WorkflowStage.township_publicity,
                WorkflowStage.county_notice,
            } <= stages_seen
            return


def test_every_position_is_reachable_and_has_a_way_on():
    # `surveyed` is where an upheld objection sends a household back to (not an action)
    starts = [(PovertyState.candidate, None), (PovertyState.surveyed, None)]
    seen, queue = set(starts), deque(starts)
    while queue:
        position = queue.popleft()
        for action in allowed_actions(position, system=True):
            for target in RULES[action].targets:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    assert set(POSITIONS) <= seen
    assert all(allowed_actions(p, system=True) for p in POSITIONS)


@pytest.mark.parametrize(
    ("window", "code"),
    [
        (None, "NO_PUBLICITY"),
        (Window(WorkflowStage.village_publicity, TODAY, 0), "PUBLICITY_RUNNING"),
        (
            Window(WorkflowStage.village_publicity, TODAY - dt.timedelta(days=1), 2),
            "OBJECTION_PENDING",
        ),
    ],
)
def test_a_window_step_waits_for_the_end_and_for_objections(window, code):
    position = (PovertyState.publicised, WorkflowStage.village_publicity)
    with pytest.raises(IllegalTransition) as refused:
        decide(Action.township_review, position, today=TODAY, window=window)
    assert refused.value.code == code
