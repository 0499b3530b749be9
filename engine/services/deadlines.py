"""Escalation policy and thresholds: the one place that says WHEN a level is due.

Levels per task (docs/domain.md §6): `remind` the assignee (or the role's pool) when
`remind_at` of the step's working time is used; `warn` the chair when the step is due;
`overdue` once `overdue_after` of working time has passed the due instant (the step is
marked and the chair is offered reassignment). Per dossier: `apology_due` when the
working time left before the appointment is less than the open steps still need, and
in any case `apology_lead` (1 working day) before the appointment.

Every instant is counted in working time with the unit's calendar, and nothing is due
while the dossier's clock is paused. `reschedule` stores the next instant on each open
task and on the dossier (`next_escalation_at`, indexed); the projection
(`DossierFlow.save_and_log`) calls it whenever a dossier changes, and the sweep calls the
same functions, so the rule lives here only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import bindparam, or_, select

from engine.domain.lifecycle import DossierState, StepClock, StepState
from engine.domain.calendar import WORKING_DAY, WorkingCalendar, format_working_duration, parse_working_duration
from engine.adapters.db.models import Dossier, EscalationPolicy, Task
from engine.adapters.db.revisions import ESCALATION
from engine.errors import InvalidInput, Problem
from engine.domain.roles import ROLES

if TYPE_CHECKING:
    from engine.procedure.model import ProcedureModel
    from engine.runtime import Unit

TASK_LEVELS = ("remind", "warn", "overdue")
DOSSIER_LEVELS = ("apology_due",)
LEVEL_RANK = {None: 0, "remind": 1, "warn": 2, "overdue": 3, "apology_due": 1}


@dataclass(frozen=True)
class Policy:
    """Escalation thresholds and recipients. Stored as JSON in `escalation_policies`."""

    remind_at: float = 0.75  # share of the step's working time used
    overdue_after: timedelta = timedelta(hours=1)  # working time past the step's due instant
    warn_roles: tuple[str, ...] = ("chair",)
    overdue_roles: tuple[str, ...] = ("chair",)
    apology_lead: timedelta = WORKING_DAY  # prompt at least this long before the appointment
    apology_roles: tuple[str, ...] = ("one_stop_clerk",)

    def to_json(self) -> dict[str, Any]:
        return {
            "remind_at": self.remind_at,
            "overdue_after": format_working_duration(self.overdue_after),
            "warn_roles": list(self.warn_roles),
            "overdue_roles": list(self.overdue_roles),
            "apology_lead": format_working_duration(self.apology_lead),
            "apology_roles": list(self.apology_roles),
        }

    def merged(self, settings: dict[str, Any], *, where: str = "policy") -> "Policy":
        """This policy with the keys of `settings` (JSON) applied; every bad key reported."""
        return replace(self, **parse_settings(settings, where=where))


DEFAULT_POLICY = Policy()
POLICY_KEYS = tuple(DEFAULT_POLICY.to_json())


def parse_settings(settings: dict[str, Any], *, where: str = "policy") -> dict[str, Any]:
    """Validate policy JSON; raise InvalidInput listing every problem at once."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    if not isinstance(settings, dict):
        raise InvalidInput(f"{where}: an escalation policy must be a JSON object",
                           f"{where}: chính sách nhắc việc phải là một đối tượng JSON", code="bad_policy",
                           hint=f"keys: {', '.join(POLICY_KEYS)}")
    for key, value in settings.items():
        if key not in POLICY_KEYS:
            problems.append(Problem("unknown_key", f"Khóa không hợp lệ: {key}.", f"Unknown key {key!r}.",
                                    hint=f"use one of {', '.join(POLICY_KEYS)}", field=key))
        elif key == "remind_at":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                problems.append(Problem("bad_fraction", "remind_at phải là số trong khoảng (0, 1), ví dụ 0.75.",
                                        "remind_at must be a number between 0 and 1 (exclusive), e.g. 0.75.",
                                        field=key))
            else:
                out[key] = float(value)
        elif key in ("overdue_after", "apology_lead"):
            try:
                out[key] = parse_working_duration(str(value), field=key)
            except InvalidInput as exc:
                problems.extend(exc.problems or [Problem("bad_duration", exc.message_vi, exc.message_en, field=key)])
        else:
            roles = value if isinstance(value, list) else None
            unknown = [r for r in roles or [] if r not in ROLES]
            if roles is None or not roles or unknown:
                problems.append(Problem("bad_roles", f"{key} phải là danh sách mã vai trò hợp lệ.",
                                        f"{key} must be a non-empty list of role codes"
                                        + (f" (unknown: {', '.join(map(str, unknown))})" if unknown else "") + ".",
                                        hint=f"role codes: {', '.join(sorted(ROLES))}", field=key))
            else:
                out[key] = tuple(roles)
    if problems:
        raise InvalidInput(f"{where}: the escalation policy is invalid ({len(problems)} problem(s))",
                           f"{where}: chính sách nhắc việc không hợp lệ ({len(problems)} lỗi)",
                           code="bad_policy", problems=problems,
                           hint='e.g. {"remind_at": 0.8, "overdue_after": "PT2H", "apology_lead": "P1D"}')
    return out


_policies = EscalationPolicy.__table__
_ALL_POLICIES = select(_policies.c.org_unit_id, _policies.c.procedure_version_id, _policies.c.settings)
_APPLICABLE_POLICIES = _ALL_POLICIES.where(
    or_(_policies.c.org_unit_id.is_(None), _policies.c.org_unit_id == bindparam("unit")),
    or_(_policies.c.procedure_version_id.is_(None), _policies.c.procedure_version_id == bindparam("version")),
)


class PolicyBook:
    """Resolve the policy of (commune, procedure version): default < commune-wide <
    version-wide < this commune and this version. The procedure's own rule wins over a
    commune's general preference; a row for both is the most specific."""

    def __init__(self, rows: Iterable[Any]) -> None:  # rows with org_unit_id, procedure_version_id, settings
        self._rows = {(r.org_unit_id, r.procedure_version_id): r.settings for r in rows}
        self._cache: dict[tuple[int | None, int | None], Policy] = {}

    @classmethod
    def load(cls, unit: "Unit", org_unit_id: int | None = None, version_id: int | None = None) -> "PolicyBook":
        """The rows that can apply to (commune, version), or all of them, read in the
        unit's transaction; cached by the runtime while the escalation token is unchanged
        (`engine.caching.ChangeTokenCache`)."""
        cache, tokens = unit.runtime.reference, unit.setting_tokens
        if org_unit_id is None and version_id is None:
            return cache.get(ESCALATION, "all", tokens, lambda: cls(unit.connection.execute(_ALL_POLICIES)))
        return cache.get(ESCALATION, (org_unit_id, version_id), tokens, lambda: cls(
            unit.connection.execute(_APPLICABLE_POLICIES, {"unit": org_unit_id, "version": version_id})))

    def policy(self, org_unit_id: int | None, version_id: int | None) -> Policy:
        key = (org_unit_id, version_id)
        cached = self._cache.get(key)
        if cached is None:
            cached = DEFAULT_POLICY
            for scope in ((None, None), (org_unit_id, None), (None, version_id), (org_unit_id, version_id)):
                if scope in self._rows:
                    cached = cached.merged(self._rows[scope], where=f"policy {scope}")
            self._cache[key] = cached
        return cached


# --- thresholds ------------------------------------------------------------------------


def instant_before(calendar: WorkingCalendar, start: datetime, end: datetime, amount: timedelta) -> datetime:
    """The working instant `amount` of working time before `end`, not before `start`."""
    span = calendar.working_time_between(start, end)
    return calendar.add_working_time(start, max(span - amount, timedelta(0)))


def task_thresholds(task: Task, calendar: WorkingCalendar, policy: Policy) -> list[tuple[str, datetime]]:
    """(level, instant) for an open running step, in level order; [] otherwise."""
    if task.state != StepState.OPEN or task.clock != StepClock.RUNNING or task.due_at is None:
        return []
    out: list[tuple[str, datetime]] = []
    duration = timedelta(seconds=task.duration_seconds)
    if duration > timedelta(0):
        out.append(("remind", instant_before(calendar, task.created_at, task.due_at, duration * (1 - policy.remind_at))))
    out.append(("warn", task.due_at))
    out.append(("overdue", calendar.add_working_time(task.due_at, policy.overdue_after)))
    return out


def remaining_need(model: "ProcedureModel", open_tasks: Iterable[Task]) -> timedelta:
    """Working time the open running steps still need to reach an end (longest path)."""
    needs = [model.remaining_duration(t.bpmn_id) for t in open_tasks
             if t.state == StepState.OPEN and t.clock == StepClock.RUNNING and t.bpmn_id in model.steps]
    return max(needs, default=timedelta(0))


def dossier_threshold(dossier: Dossier, open_tasks: Iterable[Task], model: "ProcedureModel",
                      calendar: WorkingCalendar, policy: Policy, *, paused: bool) -> datetime | None:
    """When the desk must be prompted for the apology letter; None if it never will."""
    if (dossier.state != DossierState.OPEN or dossier.finished_at is not None or dossier.apology_issued_at is not None
            or paused or dossier.escalation_level == "apology_due"):
        return None
    lead = max(remaining_need(model, open_tasks), policy.apology_lead)
    return instant_before(calendar, dossier.received_at, dossier.due_at, lead)


def next_instant(thresholds: list[tuple[str, datetime]], fired: str | None) -> datetime | None:
    """The earliest threshold of a level above the highest one already fired."""
    pending = [at for level, at in thresholds if LEVEL_RANK[level] > LEVEL_RANK[fired]]
    return min(pending, default=None)


def due_level(thresholds: list[tuple[str, datetime]], fired: str | None, now: datetime) -> tuple[str, datetime, list[str]] | None:
    """The highest level due at `now` and not yet fired, with the lower ones it
    supersedes (after an outage only the highest fires: no burst of stale notices)."""
    due = [(level, at) for level, at in thresholds if at <= now and LEVEL_RANK[level] > LEVEL_RANK[fired]]
    if not due:
        return None
    level, at = max(due, key=lambda item: LEVEL_RANK[item[0]])
    return level, at, [lv for lv, _ in due if lv != level]


def reschedule(unit: "Unit", dossier: Dossier, model: "ProcedureModel", calendar: WorkingCalendar,
               book: PolicyBook | None = None) -> None:
    """Store the next escalation instant on every task of the dossier and on the dossier.

    Called by the projection after every change (step opened or completed, pause
    started or ended, dossier ended) so the stored instants never go stale.
    """
    book = book or PolicyBook.load(unit, dossier.org_unit_id, dossier.procedure_version_id)
    policy = book.policy(dossier.org_unit_id, dossier.procedure_version_id)
    paused = any(p.ended_at is None for p in dossier.pauses)
    open_tasks = [t for t in dossier.tasks if t.state == StepState.OPEN]
    for task in dossier.tasks:
        if task.state != StepState.OPEN or paused:
            task.next_escalation_at = None
        else:
            task.next_escalation_at = next_instant(task_thresholds(task, calendar, policy), task.escalation_level)
    dossier.next_escalation_at = dossier_threshold(dossier, open_tasks, model, calendar, policy, paused=paused)

