"""The chair's heat map: per step, dossiers passed, median and p90 of the working time
taken against the plan, share late; the slowest steps stand out."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import PermissionDenied
from engine.views.step_heatmap import StepSample, heat_level, median, percentile, procedure_heatmap, step_heat
from tests.web_support import web  # noqa: F401  (fixture)

H = timedelta(hours=1)


def test_percentiles_are_durations_really_taken():
    values = [H * n for n in (5, 1, 3, 2, 4, 10, 6, 7, 8, 9)]
    assert percentile(values, 90) == 9 * H and percentile(values, 100) == 10 * H
    assert percentile(values, 50) == 5 * H and percentile([], 90) is None
    assert median(values) == 5.5 * H and median([2 * H]) == 2 * H and median([]) is None


def test_levels_and_the_slowest_steps():
    steps = [("a", "A", 2 * H), ("b", "B", 2 * H), ("c", "C", 1 * H), ("d", "D", 1 * H), ("e", "E", 1 * H),
             ("f", "F", 4 * H)]
    samples = ([StepSample("a", H, 2 * H, False)] * 3  # half the plan
               + [StepSample("b", 4 * H, 2 * H, True), StepSample("b", 5 * H, 2 * H, True), StepSample("b", H, 2 * H, False)]
               + [StepSample("c", 1.2 * H, H, True)]
               + [StepSample("d", 3 * H, H, True)]
               + [StepSample("e", 1.4 * H, H, True)])
    rows = {r.bpmn_id: r for r in step_heat(samples, steps)}
    assert [r.bpmn_id for r in step_heat(samples, steps)] == ["a", "b", "c", "d", "e", "f"]  # the model's order
    assert (rows["a"].passed, rows["a"].median, rows["a"].late_share, rows["a"].level) == (3, H, 0.0, 1)
    assert (rows["b"].median, rows["b"].p90, rows["b"].ratio, rows["b"].level) == (4 * H, 5 * H, 2.0, 4)
    assert rows["b"].late_share == pytest.approx(2 / 3)
    assert rows["f"].passed == 0 and rows["f"].median is None and rows["f"].level == 0 and rows["f"].late_share is None
    assert {r.bpmn_id for r in rows.values() if r.slowest} == {"d", "b", "e"}  # 3.0, 2.0, 1.4 over plan
    assert heat_level(1.0) == 2 and heat_level(1.5) == 3 and heat_level(1.51) == 4


def test_a_step_planned_at_zero_is_judged_on_its_samples_plans():
    [row] = step_heat([StepSample("x", 2 * H, H, False)], [("x", "X", timedelta(0))])
    assert row.ratio == 2.0 and row.level == 4


def test_the_heat_map_of_a_procedure_from_its_dossiers(web):
    clock = web.rt.clock
    first = web.receive("Hoàng Văn Dũng")
    second = web.receive("Ma Thị Lan")
    clock.advance(timedelta(minutes=30))
    web.step("clerk", first)
    web.step("clerk", second)
    clock.advance(timedelta(hours=3))
    web.step("officer", first, {"outcome": "approve"})
    chair = web.world.actor("chair")
    heat = procedure_heatmap(web.rt, chair, "9.000001", "2026-03")
    rows = {r.bpmn_id: r for r in heat.steps}
    assert heat.samples == 3 and heat.version_no == 1
    receive_id = heat.steps[0].bpmn_id
    assert rows[receive_id].passed == 2 and rows[receive_id].median == timedelta(minutes=30)
    [appraise] = [r for r in heat.steps if r.passed == 1]
    # handed over at 10:30, done at 13:30: one working hour, the lunch break is not working time
    assert appraise.median == timedelta(hours=1) and appraise.late_share == 0.0
    assert procedure_heatmap(web.rt, chair, "9.000001", "2026-02").samples == 0
    with pytest.raises(PermissionDenied):
        procedure_heatmap(web.rt, web.world.actor("clerk"), "9.000001", "2026-03")
