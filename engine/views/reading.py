"""The read side's one way in, and its one visibility rule.

Every view reads through a read-only unit of work (`Runtime.read`): one connection and
one snapshot for the whole answer. A view takes either the runtime (it opens its own
unit) or a unit already open, so a page that shows several views is served from one
connection (every web page is).

Visibility (`engine.permissions.require_visible`): a user sees the org units they hold a
role in today; another commune's dossier or task does not exist for them (NotFound),
never "forbidden", so its existence does not leak.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from engine.adapters.db.models import Dossier, Task
from engine.adapters.db.partitions import ids_of_code, ids_of_years, receipt_year
from engine.domain.calendar import VN_TZ
from engine.permissions import Principal, load_principal, not_found, require, require_visible
from engine.runtime import Unit, reading

__all__ = ["reading", "today", "principal_of", "user_principal", "visible_dossier", "visible_task"]


def today(unit: Unit) -> date:
    return unit.now.astimezone(VN_TZ).date()


def principal_of(unit: Unit) -> Principal | None:
    """The actor's roles today; None for a system actor (the CLI, the scheduler), which sees all."""
    user_id = unit.actor.user_id
    return load_principal(unit, user_id, today(unit)) if user_id is not None else None


def user_principal(unit: Unit) -> Principal:
    """The roles of a logged-in user (an actor without an account holds none)."""
    principal = principal_of(unit)
    return principal if principal is not None else Principal(None)


def visible_dossier(unit: Unit, ref: int | str, action: str = "dossier.view") -> Dossier:
    """A dossier (by id or code) with its steps and pauses, if the actor sees its commune
    and may `action` there; NotFound otherwise.

    In a read-only unit the dossier is loaded once: a page that shows several views of
    it (the dossier, its control sheet, its actions, its diagram) reads it from the
    unit's snapshot once, and each view still checks its own action here."""
    loaded = _loaded_dossiers(unit)
    key = ("code", ref) if isinstance(ref, str) else ("id", ref)
    dossier = loaded.get(key) if loaded is not None else None
    if dossier is None:
        dossier = _load_dossier(unit, ref)
        if dossier is not None and loaded is not None:
            loaded[("id", dossier.id)] = loaded[("code", dossier.code)] = dossier
    principal = principal_of(unit)
    if dossier is None:
        raise not_found(f"dossier {ref}")
    require_visible(principal, dossier.org_unit_id, f"dossier {ref}")
    if principal is not None:
        require(principal, action, dossier.org_unit_id, what="dossier")
    return dossier


def _load_dossier(unit: Unit, ref: int | str) -> Dossier | None:
    """The dossier with its pauses and steps. Its code and its year of receipt say which
    year's partitions hold its row and its steps (engine.adapters.db.partitions), so on
    PostgreSQL neither read probes the other years'."""
    dialect = unit.session.get_bind().dialect.name
    query = select(Dossier).options(selectinload(Dossier.pauses))
    query = (query.where(Dossier.code == ref, ids_of_code(Dossier.id, ref, dialect)) if isinstance(ref, str)
             else query.where(Dossier.id == ref))
    dossier = unit.session.scalar(query)
    if dossier is not None and "tasks" in inspect(dossier).unloaded:
        steps = unit.session.scalars(
            select(Task).where(Task.dossier_id == dossier.id,
                               ids_of_years(Task.id, [receipt_year(dossier.received_at)], dialect))
            .order_by(Task.id)).all()
        set_committed_value(dossier, "tasks", list(steps))
    return dossier


def _loaded_dossiers(unit: Unit) -> dict | None:
    """The dossiers a read-only unit has loaded, by id and by code (None in a unit that
    writes: there a dossier changes between reads)."""
    if not getattr(unit, "read_only", False):
        return None
    return unit.session.info.setdefault("isoflow_visible_dossiers", {})


def visible_task(unit: Unit, task_id: int, action: str = "dossier.view") -> Task:
    """A task the actor sees (and may `action` on its dossier); NotFound otherwise."""
    task = unit.session.get(Task, task_id)
    principal = principal_of(unit)
    if task is None:
        raise not_found(f"task {task_id}")
    require_visible(principal, task.org_unit_id, f"task {task_id}")
    if principal is not None:
        require(principal, action, task.org_unit_id, what=f"task {task_id}")
    return task
