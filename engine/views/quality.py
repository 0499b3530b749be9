"""Read models of the quality system (docs/iso.md): objectives with their measured
values, the registers (nonconformities, corrective actions, complaints, risks), an
internal audit with its checklist and sampled dossiers, and the management review pack.

Objective values come from the statistics of the period (`engine.views.statistics`),
never recounted here; the one measure the statistics do not carry (late dossiers
without an apology letter) is counted here with the same definitions (finished late
within the period, or open and past the appointment when the period is judged).
Every read checks "quality.view" in the record's commune; another commune's records are
"not found".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from engine.adapters.db.models import (
    AuditFinding,
    AuditProgramme,
    Complaint,
    CorrectiveAction,
    Dossier,
    DossierPause,
    InternalAudit,
    ManagementReview,
    Nonconformity,
    OrgUnit,
    Procedure,
    ProcedureVersion,
    QualityObjective,
    Risk,
    Task,
    User,
)
from engine.audit import Actor
from engine.runtime import reading
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.domain.periods import Period, parse_period
from engine.errors import InvalidInput, Problem
from engine.permissions import load_principal, not_found, require
from engine.views import statistics

STATS_READER = Actor.system("quality")  # the policy is checked here ("quality.view") before reading

# --- access ------------------------------------------------------------------------------


class _Reader:
    def __init__(self, uow) -> None:
        self.uow = uow
        self.session = uow.session
        self.today = uow.now.astimezone(VN_TZ).date()
        self.principal = (load_principal(uow, uow.actor.user_id, self.today)
                          if uow.actor.user_id is not None else None)

    def check(self, org_unit_id: int, what: str, action: str = "quality.view") -> None:
        if self.principal is not None:
            require(self.principal, action, org_unit_id, what=what)

    def may(self, action: str, org_unit_id: int) -> bool:
        return self.principal is None or self.principal.can(action, org_unit_id)

    def commune(self, code: str) -> OrgUnit:
        unit = self.session.scalar(select(OrgUnit).where(OrgUnit.code == (code or "").strip()))
        if unit is None or unit.kind != "commune" or (self.principal is not None and not self.principal.sees(unit.id)):
            raise not_found(f"org unit {code}")
        self.check(unit.id, f"org unit {code}")
        return unit

    def row(self, model, record_id: int, what: str):
        row = self.session.get(model, record_id)
        if row is None or (self.principal is not None and not self.principal.sees(row.org_unit_id)):
            raise not_found(f"{what} {record_id}")
        self.check(row.org_unit_id, what)
        return row

    def names(self, user_ids) -> dict[int, str]:
        ids = {i for i in user_ids if i is not None}
        if not ids:
            return {}
        return dict(self.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


def communes_for(rt, actor: Actor, action: str = "quality.view") -> list[OrgUnit]:
    """The communes where the actor may do `action` (the pages' unit picker)."""
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        units = uow.session.scalars(select(OrgUnit).where(OrgUnit.kind == "commune").order_by(OrgUnit.code)).all()
        return [u for u in units if reader.may(action, u.id)]


def permissions(rt, actor: Actor, unit_code: str) -> dict[str, bool]:
    """What the actor may do with the commune's quality records (for screens)."""
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        return {action: reader.may(action, unit.id) for action in (
            "quality.manage", "quality.report", "complaint.record", "audit.plan", "audit.conduct")}


# --- 6.2 objectives ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    objective_id: int
    title: str
    measure: str
    measure_label_vi: str
    measure_label_en: str
    unit: str
    comparator: str
    target: float
    period: str
    period_label: str
    value: float | None
    verdict: str  # met | not_met | no_data
    note: str | None = None


def measure_objectives(rt, actor: Actor, *, unit_code: str, period: str) -> list[Measurement]:
    """The commune's objectives of the period's year, each measured over the period."""
    the_period = parse_period(period)
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        objectives = _objectives(uow.session, unit.id, the_period.start.year)
    if not objectives:
        return []
    return _measure(rt, unit, objectives, the_period, period)


def _objectives(session, unit_id: int, year: int) -> list[QualityObjective]:
    return list(session.scalars(select(QualityObjective).where(
        QualityObjective.org_unit_id == unit_id, QualityObjective.year == year,
        QualityObjective.retired_at.is_(None)).order_by(QualityObjective.id)))


def _measure(rt, unit: OrgUnit, objectives: list[QualityObjective], the_period: Period, key: str) -> list[Measurement]:
    report = statistics.compute_statistics(rt, STATS_READER, period=key, group_by="commune", unit_code=unit.code)
    total = report.total
    values: dict[str, tuple[float | None, str | None]] = {
        "on_time_percent": (total.indicator_2_1, None),
        "late_percent": (total.late_percent, None),
        "avg_processing_days": (total.indicator_2_2_days, None),
        "satisfaction_percent": (total.satisfaction_percent, None if total.satisfaction_percent is not None else
                                 "Chưa có số liệu: chưa có người dân nào đánh giá trong kỳ. "
                                 "/ No data: no citizen rated a dossier in the period."),
    }
    if any(o.measure == "late_without_apology" for o in objectives):
        values["late_without_apology"] = (float(_late_without_apology(rt, unit, the_period, report.as_of)), None)
    out = []
    for o in objectives:
        m = rules.MEASURES[o.measure]
        value, note = values[o.measure]
        out.append(Measurement(o.id, o.title, o.measure, m.label_vi, m.label_en, m.unit, m.comparator, o.target,
                               key.strip().upper(), the_period.label, value, rules.judge(value, m.comparator, o.target),
                               note))
    return out


def _late_without_apology(rt, unit: OrgUnit, the_period: Period, as_of: datetime) -> int:
    start, end = the_period.start_instant, the_period.end_instant
    with rt.read(STATS_READER) as uow:
        paused = select(DossierPause.id).where(DossierPause.dossier_id == Dossier.id, DossierPause.ended_at.is_(None))
        finished_late = and_(Dossier.finished_at >= start, Dossier.finished_at < end, Dossier.classification == "late")
        open_overdue = and_(Dossier.received_at < end, or_(Dossier.finished_at.is_(None), Dossier.finished_at > as_of),
                            Dossier.result.is_(None), Dossier.due_at < as_of, ~paused.exists())
        return uow.session.scalar(select(func.count()).select_from(Dossier).where(
            Dossier.org_unit_id == unit.id, Dossier.apology_issued_at.is_(None), or_(finished_late, open_overdue))) or 0


def current_quarter(now: datetime) -> str:
    local = now.astimezone(VN_TZ)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class ObjectivesPanel:
    unit_code: str
    quarter: list[Measurement]
    year: list[Measurement]


def objectives_panel(rt, actor: Actor, unit_code: str) -> ObjectivesPanel | None:
    """The chair's dashboard panel: this quarter and the year so far; None without objectives
    or without the right to see them. The objectives are read in the page's unit when
    given one; their measures are statistics reports, read on their own (a replica when
    configured)."""
    with reading(rt, actor) as uow:
        rt = uow.runtime
        reader = _Reader(uow)
        unit = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if unit is None or not reader.may("quality.view", unit.id):
            return None
        now = uow.now
        objectives = _objectives(uow.session, unit.id, now.astimezone(VN_TZ).year)
    if not objectives:
        return None
    quarter = current_quarter(now)
    year = str(now.astimezone(VN_TZ).year)
    return ObjectivesPanel(unit.code, _measure(rt, unit, objectives, parse_period(quarter), quarter),
                           _measure(rt, unit, objectives, parse_period(year), year))


# --- registers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionView:
    id: int
    description: str
    owner_id: int
    owner_name: str
    due_on: date
    due_at: datetime
    state: str
    overdue: bool
    done_at: datetime | None
    done_note: str | None
    nonconformity_id: int | None
    review_id: int | None
    reminder_level: str | None


@dataclass(frozen=True)
class NonconformityView:
    id: int
    unit_code: str
    source_kind: str
    source_id: int | None
    dossier_code: str | None
    procedure_code: str | None
    procedure_name: str | None
    description: str
    detected_at: datetime
    opened_by: str
    state: str
    correction: str | None
    root_cause: str | None
    verification: str | None
    effective: bool | None
    verified_at: datetime | None
    closed_at: datetime | None
    actions: list[ActionView] = field(default_factory=list)
    complaint: dict[str, Any] | None = None
    finding: dict[str, Any] | None = None


def _action_view(a: CorrectiveAction, names: dict[int, str], now: datetime) -> ActionView:
    return ActionView(a.id, a.description, a.owner_id, names.get(a.owner_id, str(a.owner_id)), a.due_on, a.due_at,
                      a.state, a.state == "open" and now > a.due_at, a.done_at, a.done_note, a.nonconformity_id,
                      a.review_id, a.reminder_level)


def _nc_views(reader: _Reader, rows: list[Nonconformity], unit_code: str, with_actions: bool = True
              ) -> list[NonconformityView]:
    session = reader.session
    dossier_codes = dict(session.execute(select(Dossier.id, Dossier.code).where(
        Dossier.id.in_({r.dossier_id for r in rows if r.dossier_id}))).all()) if rows else {}
    procedures = {p.id: p for p in session.scalars(select(Procedure).where(
        Procedure.id.in_({r.procedure_id for r in rows if r.procedure_id})))} if rows else {}
    actions: dict[int, list[CorrectiveAction]] = {}
    if with_actions and rows:
        for a in session.scalars(select(CorrectiveAction).where(
                CorrectiveAction.nonconformity_id.in_([r.id for r in rows])).order_by(CorrectiveAction.id)):
            actions.setdefault(a.nonconformity_id, []).append(a)
    names = reader.names(a.owner_id for group in actions.values() for a in group)
    out = []
    for r in rows:
        p = procedures.get(r.procedure_id)
        out.append(NonconformityView(
            r.id, unit_code, r.source_kind, r.source_id, dossier_codes.get(r.dossier_id), p.code if p else None,
            p.name if p else None, r.description, r.detected_at, r.opened_by, r.state, r.correction, r.root_cause,
            r.verification, r.effective, r.verified_at, r.closed_at,
            [_action_view(a, names, reader.uow.now) for a in actions.get(r.id, [])]))
    return out


def list_nonconformities(rt, actor: Actor, *, unit_code: str, state: str | None = None, limit: int = 200
                         ) -> list[NonconformityView]:
    """Open ones first (oldest first), then closed ones, newest first."""
    if state is not None and state not in rules.NC_STATES:
        raise InvalidInput(f"state must be one of {', '.join(rules.NC_STATES)}", "trạng thái không hợp lệ",
                           code="bad_state", problems=[Problem("bad_choice", "Trạng thái không hợp lệ.",
                                                               "Unknown state.", field="state")])
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        query = select(Nonconformity).where(Nonconformity.org_unit_id == unit.id)
        if state:
            query = query.where(Nonconformity.state == state)
        rows = list(uow.session.scalars(query.order_by(
            (Nonconformity.state == "closed"), Nonconformity.detected_at, Nonconformity.id).limit(limit)))
        return _nc_views(reader, rows, unit.code)


def get_nonconformity(rt, actor: Actor, nc_id: int) -> NonconformityView:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        row = reader.row(Nonconformity, nc_id, "nonconformity")
        unit = uow.session.get(OrgUnit, row.org_unit_id)
        view = _nc_views(reader, [row], unit.code)[0]
        complaint = finding = None
        if row.source_kind == "complaint" and row.source_id:
            c = uow.session.get(Complaint, row.source_id)
            complaint = {"id": c.id, "complainant": c.complainant, "content": c.content, "received_at": c.received_at,
                         "answer": c.answer, "answered_at": c.answered_at}
        if row.source_kind == "audit_finding" and row.source_id:
            f = uow.session.get(AuditFinding, row.source_id)
            finding = {"id": f.id, "audit_id": f.audit_id, "kind": f.kind, "step": f.step, "text": f.text}
        return NonconformityView(**{**view.__dict__, "complaint": complaint, "finding": finding})


def list_actions(rt, actor: Actor, *, unit_code: str, open_only: bool = False) -> list[ActionView]:
    """Corrective and review actions of the commune, by due date."""
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        query = select(CorrectiveAction).where(CorrectiveAction.org_unit_id == unit.id)
        if open_only:
            query = query.where(CorrectiveAction.state == "open")
        rows = list(uow.session.scalars(query.order_by(CorrectiveAction.state.desc(), CorrectiveAction.due_at,
                                                       CorrectiveAction.id)))
        names = reader.names(a.owner_id for a in rows)
        return [_action_view(a, names, uow.now) for a in rows]


@dataclass(frozen=True)
class ComplaintView:
    id: int
    dossier_code: str
    complainant: str
    content: str
    received_at: datetime
    answer: str | None
    answered_at: datetime | None
    nonconformity_id: int | None


def list_complaints(rt, actor: Actor, *, unit_code: str, start: datetime | None = None,
                    end: datetime | None = None) -> list[ComplaintView]:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        return _complaints(uow.session, unit.id, start, end)


def _complaints(session, unit_id: int, start: datetime | None, end: datetime | None) -> list[ComplaintView]:
    query = (select(Complaint, Dossier.code, Nonconformity.id).join(Dossier, Dossier.id == Complaint.dossier_id)
             .outerjoin(Nonconformity, and_(Nonconformity.source_kind == "complaint",
                                            Nonconformity.source_id == Complaint.id))
             .where(Complaint.org_unit_id == unit_id))
    if start is not None:
        query = query.where(Complaint.received_at >= start, Complaint.received_at < end)
    return [ComplaintView(c.id, code, c.complainant, c.content, c.received_at, c.answer, c.answered_at, nc_id)
            for c, code, nc_id in session.execute(query.order_by(Complaint.received_at.desc(), Complaint.id))]


@dataclass(frozen=True)
class RiskView:
    id: int
    kind: str
    description: str
    procedure_code: str | None
    procedure_name: str | None
    likelihood: int
    impact: int
    score: int
    level: str
    treatment: str
    owner_name: str | None
    state: str
    reviewed_at: datetime | None
    review_note: str | None


def list_risks(rt, actor: Actor, *, unit_code: str) -> list[RiskView]:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        return _risks(reader, unit.id)


def _risks(reader: _Reader, unit_id: int) -> list[RiskView]:
    rows = list(reader.session.execute(select(Risk, Procedure.code, Procedure.name)
                                       .outerjoin(Procedure, Procedure.id == Risk.procedure_id)
                                       .where(Risk.org_unit_id == unit_id)))
    names = reader.names(r.owner_id for r, _, _ in rows)
    out = []
    for r, code, name in rows:
        score, level = rules.risk_score(r.likelihood, r.impact)
        out.append(RiskView(r.id, r.kind, r.description, code, name, r.likelihood, r.impact, score, level,
                            r.treatment, names.get(r.owner_id), r.state, r.reviewed_at, r.review_note))
    return sorted(out, key=lambda v: (v.state != "open", -v.score, v.id))


# --- 9.2 internal audits -------------------------------------------------------------------


@dataclass(frozen=True)
class AuditSummary:
    id: int
    programme_id: int
    procedure_code: str
    procedure_name: str
    version_no: int
    auditor_name: str
    planned_on: date
    period_start: date
    period_end: date
    state: str
    findings: dict[str, int]


@dataclass(frozen=True)
class ProgrammeView:
    id: int
    unit_code: str
    year: int
    scope: str
    audits: list[AuditSummary]


def list_programmes(rt, actor: Actor, *, unit_code: str) -> list[ProgrammeView]:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        programmes = list(uow.session.scalars(select(AuditProgramme).where(AuditProgramme.org_unit_id == unit.id)
                                              .order_by(AuditProgramme.year.desc())))
        audits = _audit_summaries(reader, [p.id for p in programmes])
        return [ProgrammeView(p.id, unit.code, p.year, p.scope, [a for a in audits if a.programme_id == p.id])
                for p in programmes]


def get_programme(rt, actor: Actor, programme_id: int) -> ProgrammeView:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        p = reader.row(AuditProgramme, programme_id, "audit programme")
        unit = uow.session.get(OrgUnit, p.org_unit_id)
        return ProgrammeView(p.id, unit.code, p.year, p.scope, _audit_summaries(reader, [p.id]))


def _audit_summaries(reader: _Reader, programme_ids: list[int]) -> list[AuditSummary]:
    if not programme_ids:
        return []
    rows = list(reader.session.execute(
        select(InternalAudit, Procedure.code, Procedure.name, ProcedureVersion.version_no, User.full_name)
        .join(Procedure, Procedure.id == InternalAudit.procedure_id)
        .join(ProcedureVersion, ProcedureVersion.id == InternalAudit.procedure_version_id)
        .join(User, User.id == InternalAudit.auditor_id)
        .where(InternalAudit.programme_id.in_(programme_ids)).order_by(InternalAudit.planned_on, InternalAudit.id)))
    counts: dict[int, Counter] = {}
    if rows:
        for audit_id, kind, n in reader.session.execute(
                select(AuditFinding.audit_id, AuditFinding.kind, func.count())
                .where(AuditFinding.audit_id.in_([a.id for a, *_ in rows]))
                .group_by(AuditFinding.audit_id, AuditFinding.kind)):
            counts.setdefault(audit_id, Counter())[kind] = n
    return [AuditSummary(a.id, a.programme_id, code, name, version_no, auditor, a.planned_on, a.period_start,
                         a.period_end, a.state, {k: counts.get(a.id, Counter()).get(k, 0) for k in rules.FINDING_KINDS})
            for a, code, name, version_no, auditor in rows]


@dataclass(frozen=True)
class StepActual:
    """What one sampled dossier actually did at one checklist step."""

    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    classification: str | None
    outcome: str | None
    record_kept: bool  # the step's form data was stored


@dataclass(frozen=True)
class SampledDossier:
    id: int
    code: str
    applicant_name: str
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    classification: str | None
    status_code: int
    steps: dict[str, list[StepActual]]  # checklist step -> what happened there


@dataclass(frozen=True)
class FindingView:
    id: int
    kind: str
    step: str | None
    dossier_code: str | None
    text: str
    nonconformity_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class AuditView:
    summary: AuditSummary
    unit_code: str
    unit_name: str
    auditor_id: int
    sample_size: int
    sample_seed: int | None
    generated_at: datetime | None
    conclusion: str | None
    reported_at: datetime | None
    checklist: list[dict[str, Any]]
    sample: list[SampledDossier]
    findings: list[FindingView]
    legal_basis: str | None


def get_audit(rt, actor: Actor, audit_id: int) -> AuditView:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        audit = reader.row(InternalAudit, audit_id, "internal audit")
        unit = uow.session.get(OrgUnit, audit.org_unit_id)
        summary = _audit_summaries(reader, [audit.programme_id])
        summary = next(s for s in summary if s.id == audit.id)
        version = uow.session.get(ProcedureVersion, audit.procedure_version_id)
        sample = _sampled(reader, audit)
        findings = [FindingView(f.id, f.kind, f.step, code, f.text, f.nonconformity_id, f.created_at)
                    for f, code in uow.session.execute(
                        select(AuditFinding, Dossier.code).outerjoin(Dossier, Dossier.id == AuditFinding.dossier_id)
                        .where(AuditFinding.audit_id == audit.id).order_by(AuditFinding.id))]
        return AuditView(summary, unit.code, unit.name, audit.auditor_id, audit.sample_size, audit.sample_seed,
                         audit.generated_at, audit.conclusion, audit.reported_at, list(audit.checklist), sample,
                         findings, (version.model_metadata or {}).get("legal_basis"))


def _sampled(reader: _Reader, audit: InternalAudit) -> list[SampledDossier]:
    if not audit.sample:
        return []
    session = reader.session
    dossiers = list(session.scalars(select(Dossier).where(Dossier.id.in_(audit.sample)).order_by(Dossier.received_at)))
    tasks: dict[int, list[Task]] = {}
    for t in session.scalars(select(Task).where(Task.dossier_id.in_(audit.sample), Task.state != "cancelled")
                             .order_by(Task.created_at, Task.id)):
        tasks.setdefault(t.dossier_id, []).append(t)
    names = reader.names(t.completed_by_id for group in tasks.values() for t in group)
    out = []
    for d in dossiers:
        steps: dict[str, list[StepActual]] = {}
        for t in tasks.get(d.id, []):
            steps.setdefault(t.bpmn_id, []).append(StepActual(
                t.created_at, t.due_at, t.completed_at, names.get(t.completed_by_id), t.classification, t.outcome,
                bool(t.form_data)))
        out.append(SampledDossier(d.id, d.code, d.applicant_name, d.received_at, d.due_at, d.finished_at,
                                  d.classification, d.status_code, steps))
    return out


# --- 9.3 management review --------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSummary:
    id: int
    unit_code: str
    period: str
    period_label: str
    held_on: date
    chaired_by: str


def list_reviews(rt, actor: Actor, *, unit_code: str) -> list[ReviewSummary]:
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        return [ReviewSummary(r.id, unit.code, r.period, parse_period(r.period).label, r.held_on, r.chaired_by)
                for r in uow.session.scalars(select(ManagementReview).where(ManagementReview.org_unit_id == unit.id)
                                             .order_by(ManagementReview.held_on.desc()))]


@dataclass(frozen=True)
class VersionChange:
    procedure_code: str
    procedure_name: str
    version_no: int
    effective_from: date
    legal_basis: str | None
    change_note: str


@dataclass(frozen=True)
class LateCause:
    cause: str
    dossiers: list[str]


@dataclass(frozen=True)
class Workload:
    officer: str
    steps_finished: int
    finished_late: int
    pending: int
    pending_overdue: int


@dataclass(frozen=True)
class ReviewPack:
    review: ReviewSummary
    unit_name: str
    period_start: date
    period_end: date
    previous_review: ReviewSummary | None
    previous_actions: list[ActionView]
    version_changes: list[VersionChange]
    objectives: list[Measurement]
    complaints: list[ComplaintView]
    nonconformities: list[NonconformityView]
    nonconformities_by_source: dict[str, int]
    audits: list[AuditSummary]
    audit_conclusions: dict[int, str | None]
    late_by_cause: list[LateCause]
    workload: list[Workload]
    risks: list[RiskView]
    decisions: list[str]
    actions: list[ActionView]
    generated_at: datetime


NOT_ANALYSED = "Chưa phân tích nguyên nhân / cause not analysed yet"


def review_pack(rt, actor: Actor, review_id: int) -> ReviewPack:
    """Everything ISO 9001 9.3.2 asks a management review to consider, for its period."""
    with rt.read(actor) as uow:
        reader = _Reader(uow)
        review = reader.row(ManagementReview, review_id, "management review")
        unit = uow.session.get(OrgUnit, review.org_unit_id)
        the_period = parse_period(review.period)
        start, end = the_period.start_instant, the_period.end_instant
        summary = ReviewSummary(review.id, unit.code, review.period, the_period.label, review.held_on,
                                review.chaired_by)
        previous = uow.session.scalar(select(ManagementReview).where(
            ManagementReview.org_unit_id == unit.id, ManagementReview.held_on < review.held_on,
            ManagementReview.id != review.id).order_by(ManagementReview.held_on.desc()).limit(1))
        owners = []
        actions_of = {}
        for r in filter(None, (previous, review)):
            actions_of[r.id] = list(uow.session.scalars(select(CorrectiveAction).where(
                CorrectiveAction.review_id == r.id).order_by(CorrectiveAction.id)))
            owners += [a.owner_id for a in actions_of[r.id]]
        names = reader.names(owners)
        changes = [VersionChange(p.code, p.name, v.version_no, v.effective_from,
                                 (v.model_metadata or {}).get("legal_basis"), v.change_note)
                   for v, p in uow.session.execute(
                       select(ProcedureVersion, Procedure).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                       .where(ProcedureVersion.effective_from >= the_period.start,
                              ProcedureVersion.effective_from <= the_period.end,
                              ProcedureVersion.status.in_(("approved", "retired")))
                       .order_by(ProcedureVersion.effective_from, Procedure.code))]
        nc_rows = list(uow.session.scalars(select(Nonconformity).where(
            Nonconformity.org_unit_id == unit.id, Nonconformity.detected_at >= start, Nonconformity.detected_at < end)
            .order_by(Nonconformity.detected_at, Nonconformity.id)))
        ncs = _nc_views(reader, nc_rows, unit.code)
        programme_ids = list(uow.session.scalars(select(AuditProgramme.id).where(AuditProgramme.org_unit_id == unit.id)))
        audits = [a for a in _audit_summaries(reader, programme_ids)
                  if a.planned_on <= the_period.end and a.planned_on >= the_period.start]
        conclusions = dict(uow.session.execute(select(InternalAudit.id, InternalAudit.conclusion)
                                               .where(InternalAudit.id.in_([a.id for a in audits]))).all()) if audits else {}
        late = _late_by_cause(uow.session, unit.id, start, end)
        pack_parts = dict(
            previous_review=(ReviewSummary(previous.id, unit.code, previous.period, parse_period(previous.period).label,
                                           previous.held_on, previous.chaired_by) if previous else None),
            previous_actions=[_action_view(a, names, uow.now) for a in actions_of.get(previous.id, [])] if previous else [],
            version_changes=changes, complaints=_complaints(uow.session, unit.id, start, end), nonconformities=ncs,
            nonconformities_by_source=dict(Counter(n.source_kind for n in ncs)), audits=audits,
            audit_conclusions=conclusions, late_by_cause=late, risks=_risks(reader, unit.id),
            decisions=list(review.decisions), actions=[_action_view(a, names, uow.now) for a in actions_of[review.id]])
        objectives = _objectives(uow.session, unit.id, the_period.start.year)
        generated_at = uow.now
    measured = _measure(rt, unit, objectives, the_period, review.period) if objectives else []
    officers = statistics.compute_statistics(rt, STATS_READER, period=review.period, group_by="officer",
                                             unit_code=unit.code)
    workload = [Workload(r.label, r.finished_total, r.finished_late, r.pending_total, r.pending_overdue)
                for r in officers.rows]
    return ReviewPack(summary, unit.name, the_period.start, the_period.end, objectives=measured, workload=workload,
                      generated_at=generated_at, **pack_parts)


def _late_by_cause(session, unit_id: int, start: datetime, end: datetime) -> list[LateCause]:
    """Dossiers finished late in the period, grouped by the root cause their
    nonconformity found (or the apology letter's reason while none was found)."""
    rows = session.execute(
        select(Dossier.code, Nonconformity.root_cause, Dossier.apology_reason)
        .outerjoin(Nonconformity, and_(Nonconformity.dossier_id == Dossier.id,
                                       Nonconformity.source_kind == "late_dossier"))
        .where(Dossier.org_unit_id == unit_id, Dossier.classification == "late",
               Dossier.finished_at >= start, Dossier.finished_at < end).order_by(Dossier.code)).all()
    groups: dict[str, list[str]] = {}
    for code, cause, reason in rows:
        key = (cause or "").strip() or (f"Lý do trong phiếu xin lỗi / apology letter: {reason.strip()}"
                                        if (reason or "").strip() else NOT_ANALYSED)
        groups.setdefault(key, []).append(code)
    return sorted((LateCause(k, v) for k, v in groups.items()), key=lambda c: (-len(c.dossiers), c.cause))


@dataclass(frozen=True)
class Person:
    user_id: int
    full_name: str
    roles: tuple[str, ...]


def people_of(rt, actor: Actor, unit_code: str) -> list[Person]:
    """Active people holding a role in the commune today, the province's roles included
    (owners of actions, auditors)."""
    from engine.adapters.db.models import RoleAssignment

    with rt.read(actor) as uow:
        reader = _Reader(uow)
        unit = reader.commune(unit_code)
        units = [unit.id] + ([unit.parent_id] if unit.parent_id else [])
        rows = uow.session.execute(
            select(User.id, User.full_name, RoleAssignment.role).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.org_unit_id.in_(units), RoleAssignment.valid_from <= reader.today,
                   or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= reader.today),
                   User.active.is_(True)).order_by(User.full_name, User.id)).all()
    people: dict[int, Person] = {}
    for user_id, name, role in rows:
        known = people.get(user_id)
        people[user_id] = Person(user_id, name, tuple(sorted({*(known.roles if known else ()), role})))
    return list(people.values())
