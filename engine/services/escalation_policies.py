"""Escalation policies as data: set or clear the policy of a commune, a procedure
version, or both (see deadlines.PolicyBook for how they combine). Every change is
audited and the stored next-escalation instants of the open dossiers it touches are
recomputed in the same transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.domain.lifecycle import DossierState
from engine.audit import Actor
from engine.adapters.db.models import Dossier, EscalationPolicy, OrgUnit, Procedure, ProcedureVersion
from engine.errors import NotFound
from engine.services.deadlines import DEFAULT_POLICY, PolicyBook, Policy, parse_settings, reschedule
from engine.services.calendars import calendar_for, load_overrides
from engine.unit_of_work import UnitOfWork


def _scope(session, unit_code: str | None, procedure_code: str | None, version_no: int | None):
    unit_id = version_id = None
    if unit_code:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if unit is None:
            raise NotFound(f"org unit {unit_code} not found", f"không tìm thấy đơn vị {unit_code}",
                           hint="list units with the identity commands; codes are case-sensitive")
        unit_id = unit.id
    if procedure_code:
        query = select(ProcedureVersion).join(Procedure).where(Procedure.code == procedure_code)
        if version_no is not None:
            query = query.where(ProcedureVersion.version_no == version_no)
        version = session.scalars(query.order_by(ProcedureVersion.version_no.desc())).first()
        if version is None:
            raise NotFound(f"procedure {procedure_code} version {version_no or 'latest'} not found",
                           f"không tìm thấy thủ tục {procedure_code} phiên bản {version_no or 'mới nhất'}")
        version_id = version.id
    return unit_id, version_id


def set_policy(rt, actor: Actor, *, settings: dict[str, Any] | None, unit_code: str | None = None,
               procedure_code: str | None = None, version_no: int | None = None) -> Policy:
    """Store (or with settings=None remove) a policy row; returns the policy now in force
    for that scope. Bad settings raise InvalidInput listing every problem."""
    if settings is not None:
        parse_settings(settings, where="settings")
    with rt.unit_of_work(actor) as uow:
        session = uow.session
        unit_id, version_id = _scope(session, unit_code, procedure_code, version_no)
        row = session.scalar(select(EscalationPolicy).where(
            EscalationPolicy.org_unit_id.is_(None) if unit_id is None else EscalationPolicy.org_unit_id == unit_id,
            EscalationPolicy.procedure_version_id.is_(None) if version_id is None
            else EscalationPolicy.procedure_version_id == version_id))
        before = dict(row.settings) if row is not None else None
        if settings is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(EscalationPolicy(org_unit_id=unit_id, procedure_version_id=version_id, settings=settings,
                                         updated_at=uow.now, updated_by=actor.name))
        else:
            row.settings, row.updated_at, row.updated_by = settings, uow.now, actor.name
        session.flush()
        uow.reference_changed()
        _reschedule_open(rt, uow, unit_id, version_id)
        uow.log("escalation_policy.set" if settings is not None else "escalation_policy.removed",
                "escalation_policy", f"{unit_code or '*'}:{procedure_code or '*'}:{version_no or '*'}",
                org_unit_id=unit_id, before={"settings": before}, after={"settings": settings})
        uow.commit()
        return PolicyBook.load(uow).policy(unit_id, version_id)


def reschedule_open(rt, actor: Actor, *, unit_code: str | None = None) -> int:
    """Recompute the stored escalation instants of every open dossier (of one commune):
    run it after the calendar overrides change (a new day off moves working instants).
    Returns the number of dossiers recomputed."""
    with rt.unit_of_work(actor) as uow:
        unit_id, _ = _scope(uow.session, unit_code, None, None)
        count = _reschedule_open(rt, uow, unit_id, None)
        uow.log("scheduler.rescheduled", "scheduler", unit_code or "*", org_unit_id=unit_id, after={"dossiers": count})
        uow.commit()
        return count


def _reschedule_open(rt, uow: UnitOfWork, unit_id: int | None, version_id: int | None) -> int:
    session = uow.session
    query = select(Dossier).where(Dossier.state == DossierState.OPEN).options(selectinload(Dossier.tasks),
                                                                   selectinload(Dossier.pauses))
    if unit_id is not None:
        query = query.where(Dossier.org_unit_id == unit_id)
    if version_id is not None:
        query = query.where(Dossier.procedure_version_id == version_id)
    overrides = load_overrides(uow)
    book = PolicyBook.load(uow)
    calendars: dict[int, Any] = {}
    count = 0
    for dossier in session.scalars(query):
        if dossier.org_unit_id not in calendars:
            calendars[dossier.org_unit_id] = calendar_for(uow, dossier.org_unit, overrides)
        reschedule(uow, dossier, rt.model(dossier.procedure_version), calendars[dossier.org_unit_id], book)
        count += 1
    return count


def show_policies(rt) -> list[dict[str, Any]]:
    with rt.read(Actor.system("escalation")) as unit:
        session = unit.session
        out = [{"scope": "default", "settings": DEFAULT_POLICY.to_json()}]
        for row in session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.id)):
            unit = session.get(OrgUnit, row.org_unit_id) if row.org_unit_id else None
            version = session.get(ProcedureVersion, row.procedure_version_id) if row.procedure_version_id else None
            scope = []
            if unit is not None:
                scope.append(f"unit {unit.code}")
            if version is not None:
                scope.append(f"procedure {version.procedure.code} v{version.version_no}")
            out.append({"scope": ", ".join(scope), "settings": row.settings, "updated_at": row.updated_at,
                        "updated_by": row.updated_by})
        return out

