"""Use cases of the ISO 9001 quality system (docs/iso.md): quality objectives (6.2),
complaints, the nonconformity register with corrective actions (8.7, 10.2), and the
risk register (6.1). Internal audits are in `quality_audit`, management reviews in
`quality_review`; the scheduler's part (nonconformities that open by themselves,
reminders of corrective actions) in `quality_sweep`.

Each function is one transaction through the unit of work, checks the one permission
policy (another commune's records are "not found") and appends to the event log.
The rules themselves are pure, in `engine.domain.quality`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from engine.adapters.db.bulk import bulk_insert
from engine.adapters.db.models import (
    Complaint,
    CorrectiveAction,
    Dossier,
    ManagementReview,
    Nonconformity,
    OrgUnit,
    Procedure,
    ProcedureVersion,
    Risk,
    QualityObjective,
    User,
)
from engine.audit import Actor
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, Problem
from engine.permissions import Principal, load_principal, not_found, require
from engine.services.calendars import calendar_for
from engine.unit_of_work import UnitOfWork


class QualityContext:
    """The actor's roles and the lookups every quality use case needs, in one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.today: date = uow.now.astimezone(VN_TZ).date()
        self._principal: Principal | None = None

    @property
    def principal(self) -> Principal | None:
        """None for system actors (the scheduler, seeding), which act in-process only."""
        if self._principal is None and self.uow.actor.user_id is not None:
            self._principal = load_principal(self.uow, self.uow.actor.user_id, self.today)
        return self._principal

    def require(self, action: str, org_unit_id: int, what: str) -> None:
        if self.principal is not None:
            require(self.principal, action, org_unit_id, what=what)

    def sees(self, org_unit_id: int) -> bool:
        return self.principal is None or self.principal.sees(org_unit_id)

    def commune(self, code: str) -> OrgUnit:
        unit = self.uow.session.scalar(select(OrgUnit).where(OrgUnit.code == (code or "").strip()))
        if unit is None or not self.sees(unit.id):
            raise not_found(f"org unit {code}")
        if unit.kind != "commune":
            raise InvalidInput(f"{code} is a {unit.kind}, not a commune", f"{code} không phải là xã", code="not_a_commune",
                               problems=[Problem("not_a_commune", "Đơn vị phải là xã.", "The unit must be a commune.",
                                                 field="unit_code")])
        return unit

    def record(self, model, record_id: int, what: str, action: str):
        """A visible row of a per-commune table, after the policy check."""
        row = self.uow.session.get(model, record_id)
        if row is None or not self.sees(row.org_unit_id):
            raise not_found(f"{what} {record_id}")
        self.require(action, row.org_unit_id, what)
        return row

    def dossier(self, code: str, org_unit_id: int | None = None) -> Dossier:
        dossier = self.uow.session.scalar(select(Dossier).where(Dossier.code == (code or "").strip()))
        if dossier is None or not self.sees(dossier.org_unit_id) or (
                org_unit_id is not None and dossier.org_unit_id != org_unit_id):
            raise not_found(f"dossier {code}")
        return dossier

    def procedure(self, code: str) -> Procedure:
        procedure = self.uow.session.scalar(select(Procedure).where(Procedure.code == (code or "").strip()))
        if procedure is None:
            raise not_found(f"procedure {code}")
        return procedure

    def colleague(self, user_id: int, org_unit_id: int, field: str = "owner_id") -> User:
        """An active user holding a role in the unit today (an owner, an auditor)."""
        user = self.uow.session.get(User, user_id)
        roles = load_principal(self.uow, user_id, self.today).roles_in(org_unit_id) if user else set()
        if user is None or not user.active or not roles:
            raise InvalidInput(f"user {user_id} holds no role in this commune today",
                               f"người dùng {user_id} không giữ vai trò nào tại xã này", code="not_a_colleague",
                               problems=[Problem("not_a_colleague", "Hãy chọn người đang giữ vai trò tại xã.",
                                                 "Choose someone holding a role in the commune.", field=field)])
        return user


def procedure_of_dossier(uow: UnitOfWork, dossier: Dossier) -> int:
    return uow.session.scalar(select(ProcedureVersion.procedure_id)
                              .where(ProcedureVersion.id == dossier.procedure_version_id))


# --- 6.2 objectives -----------------------------------------------------------------


def set_objective(rt, actor: Actor, *, unit_code: str, year: int, title: str, measure: str, target: float) -> int:
    rules.check_objective(title=title or "", measure=measure, target=target, year=year)
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        unit = ctx.commune(unit_code)
        ctx.require("quality.manage", unit.id, "org unit")
        row = QualityObjective(org_unit_id=unit.id, year=year, title=title.strip(), measure=measure,
                               target=float(target), created_at=uow.now, created_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        uow.log("quality.objective_set", "quality_objective", row.id, org_unit_id=unit.id,
                after={"year": year, "title": row.title, "measure": measure, "target": row.target})
        uow.commit()
        return row.id


def retire_objective(rt, actor: Actor, objective_id: int) -> None:
    with rt.unit_of_work(actor) as uow:
        row = QualityContext(uow).record(QualityObjective, objective_id, "quality objective", "quality.manage")
        if row.retired_at is None:
            row.retired_at = uow.now
            uow.log("quality.objective_retired", "quality_objective", row.id, org_unit_id=row.org_unit_id)
            uow.commit()


# --- complaints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    id: int
    nonconformity_id: int | None = None


def record_complaint(rt, actor: Actor, *, dossier_code: str, complainant: str, content: str,
                     received_at: datetime | None = None) -> Recorded:
    """A citizen's complaint about a dossier; it opens a nonconformity (8.7)."""
    complainant = rules.required_text(complainant, "complainant", "Người phản ánh", "complainant", limit=200)
    content = rules.required_text(content, "content", "Nội dung phản ánh", "content")
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        dossier = ctx.dossier(dossier_code)
        ctx.require("complaint.record", dossier.org_unit_id, "dossier")
        when = received_at or uow.now
        if when.tzinfo is None or when > uow.now:
            raise InvalidInput("received_at must be an instant with a time zone, not in the future",
                               "thời điểm nhận phải có múi giờ và không ở tương lai", code="bad_instant",
                               problems=[Problem("bad_instant", "Thời điểm nhận không hợp lệ.",
                                                 "received_at is not valid.", field="received_at")])
        row = Complaint(org_unit_id=dossier.org_unit_id, dossier_id=dossier.id, complainant=complainant,
                        content=content, received_at=when, recorded_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        uow.log("complaint.recorded", "complaint", row.id, org_unit_id=row.org_unit_id,
                after={"dossier_code": dossier.code, "complainant": complainant, "content": content,
                       "received_at": when})
        nc_id = open_automatic(uow, source_kind="complaint", source_id=row.id, org_unit_id=dossier.org_unit_id,
                               dossier_id=dossier.id, procedure_id=procedure_of_dossier(uow, dossier),
                               description=f"Phản ánh của {complainant} về hồ sơ {dossier.code}: {content}")
        uow.commit()
        return Recorded(row.id, nc_id)


def answer_complaint(rt, actor: Actor, complaint_id: int, answer: str) -> None:
    answer = rules.required_text(answer, "answer", "Nội dung trả lời", "answer")
    with rt.unit_of_work(actor) as uow:
        row = QualityContext(uow).record(Complaint, complaint_id, "complaint", "complaint.record")
        before = {"answer": row.answer, "answered_at": row.answered_at}
        row.answer, row.answered_at, row.answered_by_id = answer, uow.now, actor.user_id
        uow.log("complaint.answered", "complaint", row.id, org_unit_id=row.org_unit_id, before=before,
                after={"answer": answer, "answered_at": uow.now})
        uow.commit()


# --- 8.7 / 10.2 nonconformities ---------------------------------------------------------


def open_automatic(uow: UnitOfWork, *, source_kind: str, source_id: int, org_unit_id: int, description: str,
                   dossier_id: int | None = None, procedure_id: int | None = None) -> int | None:
    """Open the nonconformity of one source exactly once (insert-or-nothing on the unique
    key (source kind, source id)); its id, or None when it was opened before."""
    inserted = bulk_insert(uow.connection, Nonconformity.__table__, [_nc_values(
        uow, source_kind, source_id, org_unit_id, description, dossier_id, procedure_id)],
        returning=("id",), conflict_on=("source_kind", "source_id"))
    if not inserted:
        return None
    nc_id = inserted[0][0]
    uow.log("nonconformity.opened", "nonconformity", nc_id, org_unit_id=org_unit_id,
            after={"source_kind": source_kind, "source_id": source_id, "dossier_id": dossier_id,
                   "description": description})
    return nc_id


def _nc_values(uow: UnitOfWork, source_kind: str, source_id: int | None, org_unit_id: int, description: str,
               dossier_id: int | None, procedure_id: int | None) -> dict[str, Any]:
    return {"org_unit_id": org_unit_id, "source_kind": source_kind, "source_id": source_id,
            "dossier_id": dossier_id, "procedure_id": procedure_id, "description": description[:4000],
            "detected_at": uow.now, "opened_by": uow.actor.name[:100], "state": "open"}


def open_nonconformity(rt, actor: Actor, *, unit_code: str, description: str, dossier_code: str | None = None,
                       procedure_code: str | None = None) -> int:
    """A nonconformity opened by hand (any staff member may report one)."""
    description = rules.required_text(description, "description", "Mô tả", "description")
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        unit = ctx.commune(unit_code)
        ctx.require("quality.report", unit.id, "org unit")
        dossier = ctx.dossier(dossier_code, unit.id) if dossier_code else None
        procedure_id = ctx.procedure(procedure_code).id if procedure_code else (
            procedure_of_dossier(uow, dossier) if dossier else None)
        row = Nonconformity(**_nc_values(uow, "manual", None, unit.id, description,
                                         dossier.id if dossier else None, procedure_id))
        uow.session.add(row)
        uow.session.flush()
        uow.log("nonconformity.opened", "nonconformity", row.id, org_unit_id=unit.id,
                after={"source_kind": "manual", "dossier_id": row.dossier_id, "procedure_id": procedure_id,
                       "description": description})
        uow.commit()
        return row.id


def _facts(uow: UnitOfWork, nc: Nonconformity) -> rules.NcFacts:
    counts = dict(uow.session.execute(select(CorrectiveAction.state, func.count()).where(
        CorrectiveAction.nonconformity_id == nc.id).group_by(CorrectiveAction.state)).all())
    return rules.NcFacts(nc.state, nc.correction, nc.root_cause, counts.get("open", 0), counts.get("done", 0),
                         nc.effective)


def _nc_step(rt, actor: Actor, nc_id: int, event: str, apply, **kwargs) -> str:
    with rt.unit_of_work(actor) as uow:
        nc = QualityContext(uow).record(Nonconformity, nc_id, "nonconformity", "quality.manage")
        before = _nc_snapshot(nc)
        apply(uow, nc)
        nc.state = rules.nc_transition(_facts(uow, nc), event, **kwargs)
        uow.log(f"nonconformity.{event}", "nonconformity", nc.id, org_unit_id=nc.org_unit_id, before=before,
                after=_nc_snapshot(nc))
        uow.commit()
        return nc.state


def _nc_snapshot(nc: Nonconformity) -> dict[str, Any]:
    return {"state": nc.state, "correction": nc.correction, "root_cause": nc.root_cause,
            "verification": nc.verification, "effective": nc.effective}


def record_correction(rt, actor: Actor, nc_id: int, correction: str) -> str:
    """The immediate correction (10.2 a): what was done at once for the dossier or citizen."""
    text = rules.required_text(correction, "correction", "Khắc phục tức thời", "correction")

    def apply(uow, nc):
        nc.correction, nc.corrected_at = text, uow.now
    return _nc_step(rt, actor, nc_id, "correct", apply)


def analyse(rt, actor: Actor, nc_id: int, root_cause: str) -> str:
    """The root cause (10.2 b); with the corrective actions already added the
    nonconformity moves to `action_planned`."""
    text = (root_cause or "").strip()

    def apply(uow, nc):
        nc.root_cause = text or None
    return _nc_step(rt, actor, nc_id, "analyse", apply)


def verify(rt, actor: Actor, nc_id: int, verification: str, effective: bool) -> str:
    """Verification of effectiveness (10.2 d); ineffective sends it back for a new action."""
    text = rules.required_text(verification, "verification", "Đánh giá hiệu lực", "verification")

    def apply(uow, nc):
        nc.verification, nc.verified_at, nc.verified_by_id = text, uow.now, actor.user_id
        nc.effective = bool(effective)
    return _nc_step(rt, actor, nc_id, "verify", apply, effective=bool(effective))


def close(rt, actor: Actor, nc_id: int) -> str:
    def apply(uow, nc):
        nc.closed_at, nc.closed_by_id = uow.now, actor.user_id
    return _nc_step(rt, actor, nc_id, "close", apply)


# --- corrective actions (of a nonconformity or a management review) -----------------------


def add_action(rt, actor: Actor, *, description: str, owner_id: int, due_on: date,
               nonconformity_id: int | None = None, review_id: int | None = None) -> int:
    """An action with an owner and a due date; reminded by the scheduler in working time."""
    description = rules.required_text(description, "description", "Hành động", "action")
    if (nonconformity_id is None) == (review_id is None):
        raise InvalidInput("an action belongs to one nonconformity or one management review",
                           "hành động thuộc về một sự không phù hợp hoặc một cuộc xem xét của lãnh đạo",
                           code="action_parent")
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        if nonconformity_id is not None:
            parent = ctx.record(Nonconformity, nonconformity_id, "nonconformity", "quality.manage")
            if parent.state == "closed":
                raise Conflict("the nonconformity is closed", "sự không phù hợp đã đóng", code="closed")
        else:
            parent = ctx.record(ManagementReview, review_id, "management review", "quality.manage")
        if due_on < ctx.today:
            raise InvalidInput("the due date is in the past", "hạn thực hiện đã qua", code="due_in_past",
                               problems=[Problem("due_in_past", "Hạn thực hiện phải từ hôm nay trở đi.",
                                                 "The due date must be today or later.", field="due_on")])
        ctx.colleague(owner_id, parent.org_unit_id)
        calendar = calendar_for(uow, uow.session.get(OrgUnit, parent.org_unit_id))
        due_day = calendar.next_working_day(due_on)
        action = CorrectiveAction(org_unit_id=parent.org_unit_id, nonconformity_id=nonconformity_id,
                                  review_id=review_id, description=description, owner_id=owner_id, due_on=due_on,
                                  due_at=calendar.close_of(due_day), state="open", created_at=uow.now,
                                  created_by_id=actor.user_id,
                                  next_reminder_at=calendar.next_working_instant(
                                      datetime.combine(due_day, datetime.min.time(), tzinfo=VN_TZ)))
        uow.session.add(action)
        uow.session.flush()
        if isinstance(parent, Nonconformity) and parent.state == "verifying":
            parent.state, parent.effective = "action_planned", None  # a new action reopens the plan
        uow.log("corrective_action.added", "corrective_action", action.id, org_unit_id=action.org_unit_id,
                after={"nonconformity_id": nonconformity_id, "review_id": review_id, "description": description,
                       "owner_id": owner_id, "due_on": due_on, "due_at": action.due_at})
        uow.commit()
        return action.id


def complete_action(rt, actor: Actor, action_id: int, note: str) -> None:
    """The owner (or a manager) records the action done; the last one done moves its
    nonconformity to verification."""
    note = rules.required_text(note, "note", "Kết quả thực hiện", "result")
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        action = uow.session.get(CorrectiveAction, action_id)
        if action is None or not ctx.sees(action.org_unit_id):
            raise not_found(f"corrective action {action_id}")
        if actor.user_id != action.owner_id:
            ctx.require("quality.manage", action.org_unit_id, "corrective action")
        if action.state == "done":
            raise Conflict("the action is already done", "hành động đã được thực hiện", code="already_done")
        action.state, action.done_at, action.done_note, action.next_reminder_at = "done", uow.now, note, None
        uow.session.flush()
        uow.log("corrective_action.done", "corrective_action", action.id, org_unit_id=action.org_unit_id,
                after={"note": note, "done_at": uow.now, "late": uow.now > action.due_at})
        if action.nonconformity_id is not None:
            nc = uow.session.get(Nonconformity, action.nonconformity_id)
            state = rules.nc_transition(_facts(uow, nc), "actions_done") if nc.state != "closed" else nc.state
            if state != nc.state:
                uow.log("nonconformity.actions_done", "nonconformity", nc.id, org_unit_id=nc.org_unit_id,
                        before={"state": nc.state}, after={"state": state})
                nc.state = state
        uow.commit()


# --- 6.1 risks and opportunities ----------------------------------------------------------


def add_risk(rt, actor: Actor, *, unit_code: str, kind: str, description: str, likelihood: int, impact: int,
             treatment: str = "", procedure_code: str | None = None, owner_id: int | None = None) -> int:
    if kind not in rules.RISK_KINDS:
        raise InvalidInput("kind must be risk or opportunity", "loại phải là rủi ro hoặc cơ hội", code="bad_kind",
                           problems=[Problem("bad_choice", "Loại phải là rủi ro hoặc cơ hội.",
                                             "Kind must be risk or opportunity.", field="kind")])
    description = rules.required_text(description, "description", "Mô tả", "description")
    rules.risk_score(likelihood, impact)
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        unit = ctx.commune(unit_code)
        ctx.require("quality.manage", unit.id, "org unit")
        if owner_id is not None:
            ctx.colleague(owner_id, unit.id)
        row = Risk(org_unit_id=unit.id, procedure_id=ctx.procedure(procedure_code).id if procedure_code else None,
                   kind=kind, description=description, likelihood=likelihood, impact=impact,
                   treatment=(treatment or "").strip(), owner_id=owner_id, state="open", created_at=uow.now)
        uow.session.add(row)
        uow.session.flush()
        uow.log("risk.added", "risk", row.id, org_unit_id=unit.id,
                after={"kind": kind, "description": description, "likelihood": likelihood, "impact": impact,
                       "procedure_code": procedure_code, "treatment": row.treatment})
        uow.commit()
        return row.id


def review_risk(rt, actor: Actor, risk_id: int, *, likelihood: int, impact: int, note: str,
                close: bool = False) -> None:
    """Re-assess a risk (at a management review, say) and optionally close it."""
    rules.risk_score(likelihood, impact)
    note = rules.required_text(note, "note", "Nhận xét", "note")
    with rt.unit_of_work(actor) as uow:
        row = QualityContext(uow).record(Risk, risk_id, "risk", "quality.manage")
        before = {"likelihood": row.likelihood, "impact": row.impact, "state": row.state}
        row.likelihood, row.impact, row.review_note, row.reviewed_at = likelihood, impact, note, uow.now
        if close:
            row.state = "closed"
        uow.log("risk.reviewed", "risk", row.id, org_unit_id=row.org_unit_id, before=before,
                after={"likelihood": likelihood, "impact": impact, "state": row.state, "note": note})
        uow.commit()
