"""Where a procedure's dossiers spend their time, step by step, for the chair: over a
period, per step of the model, how many dossiers passed it, the median and 90th
percentile of the working time it actually took against its planned duration, and the
share finished late. The slowest steps stand out on the diagram.

The figures are a pure computation (`step_heat`) over samples read by
`procedure_heatmap`; the working time of each finished step is measured on its commune's
calendar (holidays, sessions), as the statistics report measures processing time."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import Dossier, Procedure, ProcedureVersion, Task
from engine.domain.lifecycle import Classification, StepState
from engine.errors import NotFound
from engine.runtime import reading
from engine.unit_calendars import calendar_for, load_overrides
from engine.views.statistics import Period, _visible_communes, parse_period

SLOWEST_SHOWN = 3  # steps singled out as the slowest
# median / planned ratio → heat level 1-4 (0: no dossier passed the step)
HEAT_LEVELS = ((0.75, 1), (1.0, 2), (1.5, 3))


@dataclass(frozen=True)
class StepSample:
    """One finished step of one dossier."""

    bpmn_id: str
    worked: timedelta  # working time from hand-over to completion
    planned: timedelta  # the step's duration in the version the dossier ran on
    late: bool


@dataclass(frozen=True)
class StepHeat:
    bpmn_id: str
    name: str
    planned: timedelta  # in the version drawn
    passed: int
    median: timedelta | None
    p90: timedelta | None
    late_share: float | None  # 0..1
    ratio: float | None  # median / planned
    level: int  # 0 (no data) .. 4 (median over 1.5 x planned)
    slowest: bool


def percentile(values: list[timedelta], q: float) -> timedelta | None:
    """The q-th percentile (0 < q <= 100) by the nearest-rank method: a duration some
    dossier really took, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def heat_level(ratio: float | None) -> int:
    if ratio is None:
        return 0
    for bound, level in HEAT_LEVELS:
        if ratio <= bound:
            return level
    return 4


def step_heat(samples: list[StepSample], steps: list[tuple[str, str, timedelta]]) -> list[StepHeat]:
    """Per step of the drawn model (`steps`: bpmn id, name, planned duration, in order):
    the figures of its samples. A step planned at zero time is judged against its samples'
    own planned durations, else not at all. The slowest steps (highest median against plan,
    above plan) are flagged, at most SLOWEST_SHOWN."""
    by_step: dict[str, list[StepSample]] = {}
    for sample in samples:
        by_step.setdefault(sample.bpmn_id, []).append(sample)
    rows: list[StepHeat] = []
    for bpmn_id, name, planned in steps:
        found = by_step.get(bpmn_id, [])
        worked = [s.worked for s in found]
        mid = median(worked)
        plan = planned if planned > timedelta(0) else median([s.planned for s in found]) or timedelta(0)
        ratio = mid / plan if mid is not None and plan > timedelta(0) else None
        rows.append(StepHeat(bpmn_id, name, planned, len(found), mid, percentile(worked, 90),
                             sum(s.late for s in found) / len(found) if found else None, ratio,
                             heat_level(ratio), False))
    over = sorted((r for r in rows if r.ratio is not None and r.ratio > 1.0), key=lambda r: -r.ratio)
    slowest = {r.bpmn_id for r in over[:SLOWEST_SHOWN]}
    return [StepHeat(**{**r.__dict__, "slowest": r.bpmn_id in slowest}) for r in rows]


@dataclass(frozen=True)
class HeatMap:
    procedure_code: str
    procedure_name: str
    period: Period
    version_id: int  # the version drawn (in effect at the period's end, else the newest)
    version_no: int
    source: str
    steps: list[StepHeat]
    samples: int


def procedure_heatmap(rt, actor: Actor, procedure_code: str, period: str, *, unit_code: str | None = None) -> HeatMap:
    """The heat map of a procedure over `period` (`2026-03`, `2026-Q1`, `2026`...) in the
    communes whose statistics the actor may see (`stats.view`), or in `unit_code` only."""
    the_period = parse_period(period)
    with reading(rt, actor) as unit:
        s = unit.session
        units = _visible_communes(unit, unit_code)
        procedure = s.scalar(select(Procedure).where(Procedure.code == procedure_code))
        if procedure is None:
            raise NotFound(f"procedure {procedure_code} is not in the library",
                           f"thủ tục {procedure_code} chưa có trong thư viện", code="unknown_procedure")
        versions = s.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id)
                             .order_by(ProcedureVersion.version_no)).all()
        in_effect = [v for v in versions if v.status != "draft" and v.effective_from is not None
                     and v.effective_from <= the_period.end]
        drawn = max(in_effect, key=lambda v: (v.effective_from, v.version_no)) if in_effect else versions[-1]
        model = unit.runtime.model(drawn)
        overrides = load_overrides(unit)
        calendars = {uid: calendar_for(unit, org_unit, overrides) for uid, org_unit in units.items()}
        rows = s.execute(
            select(Task.bpmn_id, Task.created_at, Task.completed_at, Task.duration_seconds, Task.classification,
                   Task.org_unit_id)
            .join(Dossier, Dossier.id == Task.dossier_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .where(ProcedureVersion.procedure_id == procedure.id, Task.state == StepState.COMPLETED,
                   Task.completed_at >= the_period.start_instant, Task.completed_at < the_period.end_instant,
                   Task.org_unit_id.in_(list(units) or [-1]))
        ).all()
    samples = [StepSample(bpmn_id, calendars[unit_id].working_time_between(created, completed),
                          timedelta(seconds=planned or 0), classification == Classification.LATE)
               for bpmn_id, created, completed, planned, classification, unit_id in rows]
    steps = [(step.bpmn_id, step.name, step.duration) for step in model.steps_in_order()]
    return HeatMap(procedure_code, procedure.name, the_period, drawn.id, drawn.version_no,
                   bytes(drawn.source).decode("utf-8", "replace"), step_heat(samples, steps), len(samples))


def may_view(rt, actor: Actor) -> bool:
    """Whether the heat map link is worth showing: the user sees statistics somewhere."""
    from engine.views.reading import user_principal

    if actor.user_id is None:
        return True
    with reading(rt, actor) as unit:
        return user_principal(unit).can_anywhere("stats.view")
