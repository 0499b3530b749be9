"""Internal audit use cases (ISO 9001 9.2, docs/iso.md): the annual programme, planned
audits with an independent auditor, the checklist generated from the pinned procedure
version and a recorded, deterministic sample of the period's dossiers, findings (a
nonconformity finding opens a nonconformity), and the report."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from engine.adapters.db.models import AuditFinding, AuditProgramme, Dossier, InternalAudit, ProcedureVersion
from engine.audit import Actor
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, PermissionDenied, Problem
from engine.permissions import load_principal
from engine.procedure import ProcedureModel
from engine.services.procedures import effective_version
from engine.services.quality import QualityContext, open_automatic


def create_programme(rt, actor: Actor, *, unit_code: str, year: int, scope: str = "") -> int:
    if not 2000 <= year <= 2199:
        raise InvalidInput("the year must be within 2000-2199", "năm phải trong khoảng 2000-2199", code="bad_year",
                           problems=[Problem("out_of_range", "Năm không hợp lệ.", "The year is not valid.", field="year")])
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        unit = ctx.commune(unit_code)
        ctx.require("audit.plan", unit.id, "org unit")
        if uow.session.scalar(select(AuditProgramme.id).where(AuditProgramme.org_unit_id == unit.id,
                                                              AuditProgramme.year == year)):
            raise Conflict(f"{unit.code} already has an audit programme for {year}",
                           f"{unit.code} đã có chương trình đánh giá năm {year}", code="programme_exists",
                           hint="add audits to the existing programme")
        row = AuditProgramme(org_unit_id=unit.id, year=year, scope=(scope or "").strip(), created_at=uow.now,
                             created_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        uow.log("audit_programme.created", "audit_programme", row.id, org_unit_id=unit.id,
                after={"year": year, "scope": row.scope})
        uow.commit()
        return row.id


def plan_audit(rt, actor: Actor, *, programme_id: int, procedure_code: str, auditor_id: int, planned_on: date,
               period_start: date, period_end: date, sample_size: int = rules.DEFAULT_SAMPLE_SIZE) -> int:
    """One audit of a procedure in the programme's commune. The version pinned is the one
    in effect at the end of the sampled period; the auditor may not hold a role that
    performs its steps in the commune (on the planned day)."""
    rules.check_sample_size(sample_size)
    if period_end < period_start:
        raise InvalidInput("the period ends before it starts", "kỳ đánh giá kết thúc trước khi bắt đầu",
                           code="bad_period", problems=[Problem("bad_period", "Ngày cuối phải sau ngày đầu.",
                                                                "period_end must not be before period_start.",
                                                                field="period_end")])
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        programme = ctx.record(AuditProgramme, programme_id, "audit programme", "audit.plan")
        procedure = ctx.procedure(procedure_code)
        version = effective_version(uow.session, procedure.code, period_end, org_unit_id=programme.org_unit_id)
        model = rt.model(version)
        auditor = ctx.colleague(auditor_id, programme.org_unit_id, "auditor_id")
        roles = load_principal(uow, auditor.id, planned_on).roles_in(programme.org_unit_id)
        rules.check_independence(roles, [step.role for step in model.steps_in_order()])
        row = InternalAudit(programme_id=programme.id, org_unit_id=programme.org_unit_id, procedure_id=procedure.id,
                            procedure_version_id=version.id, auditor_id=auditor.id, planned_on=planned_on,
                            period_start=period_start, period_end=period_end, state="planned",
                            sample_size=sample_size, sample=[], checklist=[], created_at=uow.now)
        uow.session.add(row)
        uow.session.flush()
        uow.log("internal_audit.planned", "internal_audit", row.id, org_unit_id=row.org_unit_id,
                after={"programme_id": programme.id, "procedure_code": procedure.code, "version_no": version.version_no,
                       "auditor": auditor.username, "planned_on": planned_on, "period_start": period_start,
                       "period_end": period_end, "sample_size": sample_size})
        uow.commit()
        return row.id


def checklist_of(model: ProcedureModel) -> list[dict[str, Any]]:
    """One row per step of the pinned model: what the auditor checks against."""
    return [{"step": s.bpmn_id, "name": s.name, "role": s.role, "duration_seconds": int(s.duration.total_seconds()),
             "clock": s.clock, "form": s.form, "record": s.record} for s in model.steps_in_order()]


def generate(rt, actor: Actor, audit_id: int, *, seed: int | None = None) -> InternalAudit:
    """Draw the sample (the commune's dossiers of the procedure received in the period,
    deterministic for the recorded seed) and build the checklist; once, before findings."""
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        audit = _audit_for_auditor(ctx, audit_id)
        if audit.state != "planned":
            raise Conflict("the audit's sample and checklist were already generated",
                           "mẫu và danh mục kiểm tra của cuộc đánh giá đã được lập", code="already_generated",
                           hint="the sample stays as recorded so the audit can be re-checked")
        version = uow.session.get(ProcedureVersion, audit.procedure_version_id)
        start = datetime.combine(audit.period_start, time(), tzinfo=VN_TZ)
        end = datetime.combine(audit.period_end + timedelta(days=1), time(), tzinfo=VN_TZ)
        versions = select(ProcedureVersion.id).where(ProcedureVersion.procedure_id == audit.procedure_id)
        candidates = uow.session.scalars(select(Dossier.id).where(
            Dossier.org_unit_id == audit.org_unit_id, Dossier.procedure_version_id.in_(versions),
            Dossier.received_at >= start, Dossier.received_at < end)).all()
        audit.sample_seed = seed if seed is not None else secrets.randbelow(2 ** 31)
        audit.sample = rules.draw_sample(candidates, audit.sample_size, audit.sample_seed)
        audit.checklist = checklist_of(rt.model(version))
        audit.state, audit.generated_at = "in_progress", uow.now
        uow.log("internal_audit.generated", "internal_audit", audit.id, org_unit_id=audit.org_unit_id,
                after={"seed": audit.sample_seed, "candidates": len(candidates), "sample": audit.sample,
                       "version_no": version.version_no, "steps": [c["step"] for c in audit.checklist]})
        uow.commit()
        return audit


def _audit_for_auditor(ctx: QualityContext, audit_id: int) -> InternalAudit:
    audit = ctx.record(InternalAudit, audit_id, "internal audit", "audit.conduct")
    if ctx.uow.actor.user_id is not None and ctx.uow.actor.user_id != audit.auditor_id:
        raise PermissionDenied("only the audit's auditor conducts it", "chỉ người được phân công đánh giá mới thực hiện",
                               code="not_the_auditor", hint="the audit programme names the auditor of each audit")
    return audit


def add_finding(rt, actor: Actor, audit_id: int, *, kind: str, text: str, step: str | None = None,
                dossier_code: str | None = None) -> tuple[int, int | None]:
    """A finding; a nonconformity finding opens a nonconformity. (finding id, nc id)."""
    opens = rules.finding_opens_nonconformity(kind)
    text = rules.required_text(text, "text", "Nội dung phát hiện", "finding")
    with rt.unit_of_work(actor) as uow:
        ctx = QualityContext(uow)
        audit = _audit_for_auditor(ctx, audit_id)
        if audit.state != "in_progress":
            raise Conflict("findings are recorded while the audit is in progress (after generating, before the report)",
                           "chỉ ghi phát hiện khi cuộc đánh giá đang diễn ra", code="audit_not_in_progress")
        if step and step not in {c["step"] for c in audit.checklist}:
            raise InvalidInput(f"step {step} is not in the checklist", f"bước {step} không có trong danh mục kiểm tra",
                               code="unknown_step", problems=[Problem("unknown_step", "Bước không có trong danh mục.",
                                                                      "The step is not in the checklist.", field="step")])
        dossier = ctx.dossier(dossier_code, audit.org_unit_id) if dossier_code else None
        row = AuditFinding(audit_id=audit.id, kind=kind, step=step or None, dossier_id=dossier.id if dossier else None,
                           text=text, created_at=uow.now, created_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        nc_id = None
        if opens:
            nc_id = open_automatic(uow, source_kind="audit_finding", source_id=row.id, org_unit_id=audit.org_unit_id,
                                   dossier_id=row.dossier_id, procedure_id=audit.procedure_id,
                                   description=f"Đánh giá nội bộ #{audit.id}: {text}")
            row.nonconformity_id = nc_id
        uow.log("internal_audit.finding", "internal_audit", audit.id, org_unit_id=audit.org_unit_id,
                after={"finding_id": row.id, "kind": kind, "step": step, "dossier_id": row.dossier_id, "text": text,
                       "nonconformity_id": nc_id})
        uow.commit()
        return row.id, nc_id


def report(rt, actor: Actor, audit_id: int, conclusion: str) -> None:
    conclusion = rules.required_text(conclusion, "conclusion", "Kết luận", "conclusion")
    with rt.unit_of_work(actor) as uow:
        audit = _audit_for_auditor(QualityContext(uow), audit_id)
        if audit.state != "in_progress":
            raise Conflict("only an audit in progress can be reported", "chỉ lập báo cáo khi cuộc đánh giá đang diễn ra",
                           code="audit_not_in_progress")
        audit.conclusion, audit.state, audit.reported_at = conclusion, "reported", uow.now
        uow.log("internal_audit.reported", "internal_audit", audit.id, org_unit_id=audit.org_unit_id,
                after={"conclusion": conclusion})
        uow.commit()
