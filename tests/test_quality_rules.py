"""The pure rules of the quality system (engine/domain/quality.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput


def facts(state="open", correction=None, root_cause=None, open_actions=0, done_actions=0, effective=None):
    return rules.NcFacts(state, correction, root_cause, open_actions, done_actions, effective)


def test_judge_compares_with_the_measures_direction_and_never_passes_without_data():
    assert rules.judge(98.5, ">=", 98) == "met" and rules.judge(97.9, ">=", 98) == "not_met"
    assert rules.judge(0, "<=", 0) == "met" and rules.judge(1, "<=", 0) == "not_met"
    assert rules.judge(None, ">=", 95) == "no_data"


def test_objective_checks_report_every_problem_at_once():
    with pytest.raises(InvalidInput) as caught:
        rules.check_objective(title=" ", measure="on_time_percent", target=120, year=1999)
    assert {p.field for p in caught.value.problems} == {"title", "target", "year"}
    with pytest.raises(InvalidInput):
        rules.check_objective(title="x", measure="happiness", target=1, year=2026)
    rules.check_objective(title="x", measure="late_without_apology", target=0, year=2026)


def test_nonconformity_moves_only_along_its_rules():
    with pytest.raises(InvalidInput):
        rules.nc_transition(facts(open_actions=1), "analyse")  # no root cause
    with pytest.raises(Conflict):
        rules.nc_transition(facts(root_cause="c"), "analyse")  # no action
    assert rules.nc_transition(facts(root_cause="c", open_actions=1), "analyse") == "action_planned"
    assert rules.nc_transition(facts(root_cause="c", done_actions=1), "analyse") == "verifying"
    assert rules.nc_transition(facts("action_planned", open_actions=1, done_actions=1), "actions_done") == "action_planned"
    assert rules.nc_transition(facts("action_planned", done_actions=2), "actions_done") == "verifying"
    with pytest.raises(Conflict):
        rules.nc_transition(facts("action_planned", open_actions=1), "verify", effective=True)
    assert rules.nc_transition(facts("verifying", done_actions=1), "verify", effective=False) == "action_planned"
    assert rules.nc_transition(facts("verifying", done_actions=1), "verify", effective=True) == "verifying"
    with pytest.raises(Conflict):
        rules.nc_transition(facts("verifying", effective=None), "close")
    with pytest.raises(Conflict):
        rules.nc_transition(facts("verifying", effective=True), "close")  # no correction
    assert rules.nc_transition(facts("verifying", correction="done", effective=True), "close") == "closed"
    for event in rules.NC_EVENTS:
        with pytest.raises(Conflict):
            rules.nc_transition(facts("closed", correction="x", root_cause="x", effective=True), event)
    assert rules.nc_transition(facts("open"), "correct") == "open"


def test_action_levels_fire_in_order_and_catch_up_on_the_highest_only():
    t = rules.ActionThresholds(datetime(2026, 3, 6, 7, 0, tzinfo=VN_TZ), datetime(2026, 3, 6, 17, 0, tzinfo=VN_TZ))
    assert rules.action_due_level(t, None, datetime(2026, 3, 6, 6, 0, tzinfo=VN_TZ)) is None
    assert rules.action_due_level(t, None, datetime(2026, 3, 6, 8, 0, tzinfo=VN_TZ)) == ("remind", ())
    assert rules.action_due_level(t, "remind", datetime(2026, 3, 6, 8, 0, tzinfo=VN_TZ)) is None
    assert rules.action_due_level(t, "remind", datetime(2026, 3, 6, 17, 0, tzinfo=VN_TZ)) == ("overdue", ())
    assert rules.action_due_level(t, None, datetime(2026, 3, 9, 8, 0, tzinfo=VN_TZ)) == ("overdue", ("remind",))
    assert rules.action_due_level(t, "overdue", datetime(2026, 3, 9, 8, 0, tzinfo=VN_TZ)) is None
    assert rules.action_next_instant(t, None) == t.remind and rules.action_next_instant(t, "remind") == t.overdue
    assert rules.action_next_instant(t, "overdue") is None


def test_the_sample_is_deterministic_for_a_seed_and_takes_all_when_small():
    ids = list(range(100, 160))
    first = rules.draw_sample(ids, 5, seed=42)
    assert first == rules.draw_sample(reversed(ids), 5, seed=42) and len(first) == 5 and set(first) <= set(ids)
    assert rules.draw_sample(ids, 5, seed=43) != first
    assert rules.draw_sample([3, 1, 2], 5, seed=1) == [1, 2, 3]
    with pytest.raises(InvalidInput):
        rules.check_sample_size(0)


def test_an_auditor_holding_a_step_role_is_refused():
    with pytest.raises(Conflict) as caught:
        rules.check_independence({"chair", "vice_chair"}, ["one_stop_clerk", "chair"])
    assert caught.value.code == "auditor_not_independent" and "chair" in caught.value.message_en
    rules.check_independence({"iso_consultant"}, ["one_stop_clerk", "chair"])


def test_findings_and_risks():
    assert rules.finding_opens_nonconformity("nonconformity") and not rules.finding_opens_nonconformity("observation")
    with pytest.raises(InvalidInput):
        rules.finding_opens_nonconformity("bad")
    assert rules.risk_score(5, 3) == (15, "high") and rules.risk_score(2, 4) == (8, "medium")
    assert rules.risk_score(1, 1) == (1, "low")
    with pytest.raises(InvalidInput) as caught:
        rules.risk_score(0, 6)
    assert {p.field for p in caught.value.problems} == {"likelihood", "impact"}
