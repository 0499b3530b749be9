"""The ISO 9001 quality system (docs/iso.md): objectives (6.2), complaints and the
nonconformity register with corrective actions (8.7, 10.2), internal audits (9.2),
management reviews (9.3) and the risk register (6.1). Another commune's records are 404."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Day, Instant, Schema
from engine.adapters.documents import quality as quality_documents
from engine.domain import quality as rules
from engine.services import quality, quality_audit, quality_review
from engine.views import quality as views

blp = Blueprint("quality", __name__, url_prefix="/api/quality",
                description="Quality system: objectives, nonconformities, corrective actions, audits, reviews, risks")

ID = "<int(min=1, max=2147483647):{}>"
TEXT = validate.Length(1, 4000)
UNIT = validate.Length(1, 32)
PERIOD_HELP = "2026-03 (month), 2026-Q1, 2026-H1 or 2026-6M, 2026-9M, 2026 (year)"


# --- schemas ------------------------------------------------------------------------


class UnitArgs(Schema):
    unit_code = fields.String(required=True, validate=UNIT)


class Created(Schema):
    id = fields.Integer(required=True)


class StateSchema(Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True)


class MeasurementArgs(UnitArgs):
    period = fields.String(required=True, validate=validate.Length(1, 16), metadata={"description": PERIOD_HELP})


class MeasurementSchema(Schema):
    objective_id = fields.Integer(required=True)
    title = fields.String(required=True)
    measure = fields.String(required=True)
    measure_label_vi = fields.String(required=True)
    measure_label_en = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "%, dossiers or days"})
    comparator = fields.String(required=True, metadata={"description": ">= or <="})
    target = fields.Float(required=True)
    period = fields.String(required=True)
    period_label = fields.String(required=True)
    value = fields.Float(allow_none=True, metadata={"description": "null: no data (never a guess)"})
    verdict = fields.String(required=True, metadata={"description": "met | not_met | no_data"})
    note = fields.String(allow_none=True)


class ObjectiveIn(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    year = fields.Integer(required=True, validate=validate.Range(2000, 2199))
    title = fields.String(required=True, validate=validate.Length(1, 500))
    measure = fields.String(required=True, validate=validate.OneOf(sorted(rules.MEASURES)))
    target = fields.Float(required=True, validate=validate.Range(0, 1_000_000))


class ActionSchema(Schema):
    id = fields.Integer(required=True)
    description = fields.String(required=True)
    owner_id = fields.Integer(required=True)
    owner_name = fields.String(required=True)
    due_on = Day(required=True)
    due_at = Instant(required=True)
    state = fields.String(required=True, metadata={"description": "open | done"})
    overdue = fields.Boolean(required=True)
    done_at = Instant(allow_none=True)
    done_note = fields.String(allow_none=True)
    nonconformity_id = fields.Integer(allow_none=True)
    review_id = fields.Integer(allow_none=True)
    reminder_level = fields.String(allow_none=True)


class NonconformitySchema(Schema):
    id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    source_kind = fields.String(required=True, metadata={"description": ", ".join(rules.SOURCE_KINDS)})
    source_id = fields.Integer(allow_none=True)
    dossier_code = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    description = fields.String(required=True)
    detected_at = Instant(required=True)
    opened_by = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": ", ".join(rules.NC_STATES)})
    correction = fields.String(allow_none=True)
    root_cause = fields.String(allow_none=True)
    verification = fields.String(allow_none=True)
    effective = fields.Boolean(allow_none=True)
    verified_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)
    complaint = fields.Dict(allow_none=True)
    finding = fields.Dict(allow_none=True)


class NcListArgs(UnitArgs):
    state = fields.String(validate=validate.OneOf(rules.NC_STATES))


class NcIn(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    description = fields.String(required=True, validate=TEXT)
    dossier_code = fields.String(validate=validate.Length(1, 40))
    procedure_code = fields.String(validate=validate.Length(1, 32))


class CorrectionIn(Schema):
    correction = fields.String(required=True, validate=TEXT)


class AnalysisIn(Schema):
    root_cause = fields.String(required=True, validate=TEXT)


class VerificationIn(Schema):
    verification = fields.String(required=True, validate=TEXT)
    effective = fields.Boolean(required=True)


class ActionIn(Schema):
    description = fields.String(required=True, validate=TEXT)
    owner_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    due_on = Day(required=True)


class ActionListArgs(UnitArgs):
    open_only = fields.Boolean(load_default=False)


class DoneIn(Schema):
    note = fields.String(required=True, validate=TEXT)


class ComplaintSchema(Schema):
    id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    complainant = fields.String(required=True)
    content = fields.String(required=True)
    received_at = Instant(required=True)
    answer = fields.String(allow_none=True)
    answered_at = Instant(allow_none=True)
    nonconformity_id = fields.Integer(allow_none=True)


class ComplaintIn(Schema):
    dossier_code = fields.String(required=True, validate=validate.Length(1, 40))
    complainant = fields.String(required=True, validate=validate.Length(1, 200))
    content = fields.String(required=True, validate=TEXT)
    received_at = Instant(metadata={"description": "when the complaint came in; now when left out"})


class ComplaintRecorded(Schema):
    id = fields.Integer(required=True)
    nonconformity_id = fields.Integer(allow_none=True)


class AnswerIn(Schema):
    answer = fields.String(required=True, validate=TEXT)


class RiskSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    likelihood = fields.Integer(required=True)
    impact = fields.Integer(required=True)
    score = fields.Integer(required=True)
    level = fields.String(required=True, metadata={"description": "high | medium | low"})
    treatment = fields.String(required=True)
    owner_name = fields.String(allow_none=True)
    state = fields.String(required=True)
    reviewed_at = Instant(allow_none=True)
    review_note = fields.String(allow_none=True)


SCALE = validate.Range(1, 5)


class RiskIn(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    kind = fields.String(required=True, validate=validate.OneOf(rules.RISK_KINDS))
    description = fields.String(required=True, validate=TEXT)
    likelihood = fields.Integer(required=True, validate=SCALE)
    impact = fields.Integer(required=True, validate=SCALE)
    treatment = fields.String(load_default="", validate=validate.Length(0, 4000))
    procedure_code = fields.String(validate=validate.Length(1, 32))
    owner_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))


class RiskReviewIn(Schema):
    likelihood = fields.Integer(required=True, validate=SCALE)
    impact = fields.Integer(required=True, validate=SCALE)
    note = fields.String(required=True, validate=TEXT)
    close = fields.Boolean(load_default=False)


class AuditSummarySchema(Schema):
    id = fields.Integer(required=True)
    programme_id = fields.Integer(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    version_no = fields.Integer(required=True)
    auditor_name = fields.String(required=True)
    planned_on = Day(required=True)
    period_start = Day(required=True)
    period_end = Day(required=True)
    state = fields.String(required=True, metadata={"description": ", ".join(rules.AUDIT_STATES)})
    findings = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    year = fields.Integer(required=True)
    scope = fields.String(required=True)
    audits = fields.List(fields.Nested(AuditSummarySchema), required=True)


class ProgrammeIn(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    year = fields.Integer(required=True, validate=validate.Range(2000, 2199))
    scope = fields.String(load_default="", validate=validate.Length(0, 4000))


class AuditIn(Schema):
    procedure_code = fields.String(required=True, validate=validate.Length(1, 32))
    auditor_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    planned_on = Day(required=True)
    period_start = Day(required=True)
    period_end = Day(required=True, metadata={"description": "inclusive"})
    sample_size = fields.Integer(load_default=rules.DEFAULT_SAMPLE_SIZE, validate=validate.Range(1, rules.MAX_SAMPLE_SIZE))


class GenerateIn(Schema):
    seed = fields.Integer(validate=validate.Range(0, 2**31 - 1),
                          metadata={"description": "to redraw a known sample; drawn and recorded when left out"})


class ChecklistRowSchema(Schema):
    step = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    duration_seconds = fields.Integer(required=True, metadata={"description": "working time"})
    clock = fields.String(required=True)
    form = fields.String(allow_none=True)
    record = fields.String(allow_none=True)


class StepActualSchema(Schema):
    started_at = Instant(required=True)
    due_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    completed_by = fields.String(allow_none=True)
    classification = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    record_kept = fields.Boolean(required=True)


class SampledSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    applicant_name = fields.String(required=True)
    received_at = Instant(required=True)
    due_at = Instant(required=True)
    finished_at = Instant(allow_none=True)
    classification = fields.String(allow_none=True)
    status_code = fields.Integer(required=True)
    steps = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(StepActualSchema)), required=True)


class FindingSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    step = fields.String(allow_none=True)
    dossier_code = fields.String(allow_none=True)
    text = fields.String(required=True)
    nonconformity_id = fields.Integer(allow_none=True)
    created_at = Instant(required=True)


class AuditSchema(Schema):
    summary = fields.Nested(AuditSummarySchema, required=True)
    unit_code = fields.String(required=True)
    unit_name = fields.String(required=True)
    auditor_id = fields.Integer(required=True)
    sample_size = fields.Integer(required=True)
    sample_seed = fields.Integer(allow_none=True)
    generated_at = Instant(allow_none=True)
    conclusion = fields.String(allow_none=True)
    reported_at = Instant(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistRowSchema), required=True)
    sample = fields.List(fields.Nested(SampledSchema), required=True)
    findings = fields.List(fields.Nested(FindingSchema), required=True)


class FindingIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(rules.FINDING_KINDS))
    text = fields.String(required=True, validate=TEXT)
    step = fields.String(validate=validate.Length(1, 255))
    dossier_code = fields.String(validate=validate.Length(1, 40))


class FindingRecorded(Schema):
    id = fields.Integer(required=True)
    nonconformity_id = fields.Integer(allow_none=True)


class ConclusionIn(Schema):
    conclusion = fields.String(required=True, validate=TEXT)


class ReviewSummarySchema(Schema):
    id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    period = fields.String(required=True)
    period_label = fields.String(required=True)
    held_on = Day(required=True)
    chaired_by = fields.String(required=True)


class ReviewIn(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    period = fields.String(required=True, validate=validate.Length(1, 16), metadata={"description": PERIOD_HELP})
    held_on = Day(required=True)
    chaired_by = fields.String(required=True, validate=validate.Length(1, 200))


class DecisionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(1, 2000))


class VersionChangeSchema(Schema):
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    version_no = fields.Integer(required=True)
    effective_from = Day(required=True)
    legal_basis = fields.String(allow_none=True)
    change_note = fields.String(required=True)


class LateCauseSchema(Schema):
    cause = fields.String(required=True)
    dossiers = fields.List(fields.String(), required=True)


class WorkloadSchema(Schema):
    officer = fields.String(required=True)
    steps_finished = fields.Integer(required=True)
    finished_late = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    pending_overdue = fields.Integer(required=True)


class ReviewPackSchema(Schema):
    review = fields.Nested(ReviewSummarySchema, required=True)
    unit_name = fields.String(required=True)
    period_start = Day(required=True)
    period_end = Day(required=True)
    previous_review = fields.Nested(ReviewSummarySchema, allow_none=True)
    previous_actions = fields.List(fields.Nested(ActionSchema), required=True)
    version_changes = fields.List(fields.Nested(VersionChangeSchema), required=True)
    objectives = fields.List(fields.Nested(MeasurementSchema), required=True)
    complaints = fields.List(fields.Nested(ComplaintSchema), required=True)
    nonconformities = fields.List(fields.Nested(NonconformitySchema), required=True)
    nonconformities_by_source = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    audits = fields.List(fields.Nested(AuditSummarySchema), required=True)
    audit_conclusions = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True)
    late_by_cause = fields.List(fields.Nested(LateCauseSchema), required=True)
    workload = fields.List(fields.Nested(WorkloadSchema), required=True)
    risks = fields.List(fields.Nested(RiskSchema), required=True)
    decisions = fields.List(fields.String(), required=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)
    generated_at = Instant(required=True)


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- 6.2 objectives -----------------------------------------------------------------


@blp.get("/objectives")
@blp.arguments(MeasurementArgs, location="query", unknown=RAISE)
@blp.response(200, MeasurementSchema(many=True))
def objectives(args):
    """The commune's objectives of the period's year, measured over the period from the
    statistics (satisfaction: no data until it is captured)."""
    return views.measure_objectives(runtime(), current_actor(), unit_code=args["unit_code"], period=args["period"])


@blp.post("/objectives")
@blp.arguments(ObjectiveIn)
@blp.response(201, Created)
def set_objective(body):
    """Set an objective for a commune and a year (chair, vice chair, ISO consultant)."""
    return {"id": quality.set_objective(runtime(), current_actor(), **body)}


@blp.post(f"/objectives/{ID.format('objective_id')}/retire")
@blp.response(204)
def retire_objective(objective_id: int):
    quality.retire_objective(runtime(), current_actor(), objective_id)


# --- 8.7 / 10.2 nonconformities and corrective actions ---------------------------------


@blp.get("/nonconformities")
@blp.arguments(NcListArgs, location="query", unknown=RAISE)
@blp.response(200, NonconformitySchema(many=True))
def nonconformities(args):
    """The register: open ones first, oldest first."""
    return views.list_nonconformities(runtime(), current_actor(), unit_code=args["unit_code"], state=args.get("state"))


@blp.post("/nonconformities")
@blp.arguments(NcIn)
@blp.response(201, Created)
def open_nonconformity(body):
    """Open a nonconformity by hand (any commune staff member, the ISO consultant)."""
    return {"id": quality.open_nonconformity(runtime(), current_actor(), **body)}


@blp.get(f"/nonconformities/{ID.format('nc_id')}")
@blp.response(200, NonconformitySchema)
def nonconformity(nc_id: int):
    return views.get_nonconformity(runtime(), current_actor(), nc_id)


@blp.post(f"/nonconformities/{ID.format('nc_id')}/correction")
@blp.arguments(CorrectionIn)
@blp.response(200, StateSchema)
def correct(body, nc_id: int):
    """The immediate correction (10.2 a)."""
    return {"id": nc_id, "state": quality.record_correction(runtime(), current_actor(), nc_id, body["correction"])}


@blp.post(f"/nonconformities/{ID.format('nc_id')}/analysis")
@blp.arguments(AnalysisIn)
@blp.response(200, StateSchema)
def analyse(body, nc_id: int):
    """The root cause; with corrective actions added the state becomes action_planned."""
    return {"id": nc_id, "state": quality.analyse(runtime(), current_actor(), nc_id, body["root_cause"])}


@blp.post(f"/nonconformities/{ID.format('nc_id')}/actions")
@blp.arguments(ActionIn)
@blp.response(201, Created)
def add_nc_action(body, nc_id: int):
    """A corrective action with an owner and a due date (reminded in working time)."""
    return {"id": quality.add_action(runtime(), current_actor(), nonconformity_id=nc_id, **body)}


@blp.post(f"/nonconformities/{ID.format('nc_id')}/verification")
@blp.arguments(VerificationIn)
@blp.response(200, StateSchema)
def verify(body, nc_id: int):
    """Verification of effectiveness; ineffective goes back for a new action."""
    return {"id": nc_id, "state": quality.verify(runtime(), current_actor(), nc_id, body["verification"],
                                                 body["effective"])}


@blp.post(f"/nonconformities/{ID.format('nc_id')}/close")
@blp.response(200, StateSchema)
def close(nc_id: int):
    return {"id": nc_id, "state": quality.close(runtime(), current_actor(), nc_id)}


@blp.get("/actions")
@blp.arguments(ActionListArgs, location="query", unknown=RAISE)
@blp.response(200, ActionSchema(many=True))
def actions(args):
    """Corrective and management review actions of the commune, by due date."""
    return views.list_actions(runtime(), current_actor(), unit_code=args["unit_code"], open_only=args["open_only"])


@blp.post(f"/actions/{ID.format('action_id')}/done")
@blp.arguments(DoneIn)
@blp.response(204)
def action_done(body, action_id: int):
    """The owner (or a manager) records the action done."""
    quality.complete_action(runtime(), current_actor(), action_id, body["note"])


# --- complaints -------------------------------------------------------------------------


@blp.get("/complaints")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, ComplaintSchema(many=True))
def complaints(args):
    return views.list_complaints(runtime(), current_actor(), unit_code=args["unit_code"])


@blp.post("/complaints")
@blp.arguments(ComplaintIn)
@blp.response(201, ComplaintRecorded)
def record_complaint(body):
    """A citizen's complaint about a dossier (clerk, chair, vice chair); it opens a nonconformity."""
    return quality.record_complaint(runtime(), current_actor(), **body)


@blp.post(f"/complaints/{ID.format('complaint_id')}/answer")
@blp.arguments(AnswerIn)
@blp.response(204)
def answer_complaint(body, complaint_id: int):
    quality.answer_complaint(runtime(), current_actor(), complaint_id, body["answer"])


# --- 6.1 risks --------------------------------------------------------------------------


@blp.get("/risks")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, RiskSchema(many=True))
def risks(args):
    """Open risks and opportunities first, highest score first."""
    return views.list_risks(runtime(), current_actor(), unit_code=args["unit_code"])


@blp.post("/risks")
@blp.arguments(RiskIn)
@blp.response(201, Created)
def add_risk(body):
    return {"id": quality.add_risk(runtime(), current_actor(), **body)}


@blp.post(f"/risks/{ID.format('risk_id')}/review")
@blp.arguments(RiskReviewIn)
@blp.response(204)
def review_risk(body, risk_id: int):
    quality.review_risk(runtime(), current_actor(), risk_id, **body)


# --- 9.2 internal audits -------------------------------------------------------------------


@blp.get("/audit-programmes")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, ProgrammeSchema(many=True))
def programmes(args):
    return views.list_programmes(runtime(), current_actor(), unit_code=args["unit_code"])


@blp.post("/audit-programmes")
@blp.arguments(ProgrammeIn)
@blp.response(201, Created)
def create_programme(body):
    """The commune's annual internal audit programme (chair, ISO consultant, province admin)."""
    return {"id": quality_audit.create_programme(runtime(), current_actor(), **body)}


@blp.get(f"/audit-programmes/{ID.format('programme_id')}")
@blp.response(200, ProgrammeSchema)
def programme(programme_id: int):
    return views.get_programme(runtime(), current_actor(), programme_id)


@blp.post(f"/audit-programmes/{ID.format('programme_id')}/audits")
@blp.arguments(AuditIn)
@blp.response(201, Created)
def plan_audit(body, programme_id: int):
    """Plan an audit of a procedure; an auditor holding a role that performs its steps
    in the commune is refused (409 auditor_not_independent)."""
    return {"id": quality_audit.plan_audit(runtime(), current_actor(), programme_id=programme_id, **body)}


@blp.get(f"/audits/{ID.format('audit_id')}")
@blp.response(200, AuditSchema)
def audit(audit_id: int):
    """The audit: checklist from the pinned version, the sampled dossiers' actual steps, findings."""
    return views.get_audit(runtime(), current_actor(), audit_id)


@blp.post(f"/audits/{ID.format('audit_id')}/generate")
@blp.arguments(GenerateIn)
@blp.response(200, StateSchema)
def generate(body, audit_id: int):
    """Draw the sample (recorded seed) and build the checklist; once."""
    row = quality_audit.generate(runtime(), current_actor(), audit_id, seed=body.get("seed"))
    return {"id": row.id, "state": row.state}


@blp.post(f"/audits/{ID.format('audit_id')}/findings")
@blp.arguments(FindingIn)
@blp.response(201, FindingRecorded)
def add_finding(body, audit_id: int):
    """A finding; a nonconformity finding opens a nonconformity."""
    finding_id, nc_id = quality_audit.add_finding(runtime(), current_actor(), audit_id, **body)
    return {"id": finding_id, "nonconformity_id": nc_id}


@blp.post(f"/audits/{ID.format('audit_id')}/report")
@blp.arguments(ConclusionIn)
@blp.response(204)
def report(body, audit_id: int):
    quality_audit.report(runtime(), current_actor(), audit_id, body["conclusion"])


@blp.get(f"/audits/{ID.format('audit_id')}/report.pdf")
@blp.response(200, description="the audit report, A4 PDF", content_type="application/pdf")
def report_pdf(audit_id: int):
    return _pdf(quality_documents.audit_report(runtime(), current_actor(), audit_id, "pdf"), f"danh-gia-noi-bo-{audit_id}.pdf")


# --- 9.3 management reviews ------------------------------------------------------------------


@blp.get("/reviews")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, ReviewSummarySchema(many=True))
def reviews(args):
    return views.list_reviews(runtime(), current_actor(), unit_code=args["unit_code"])


@blp.post("/reviews")
@blp.arguments(ReviewIn)
@blp.response(201, Created)
def create_review(body):
    return {"id": quality_review.create_review(runtime(), current_actor(), **body)}


@blp.get(f"/reviews/{ID.format('review_id')}")
@blp.response(200, ReviewPackSchema)
def review(review_id: int):
    """The review pack (ISO 9001 9.3.2 inputs) for the review's period."""
    return views.review_pack(runtime(), current_actor(), review_id)


@blp.get(f"/reviews/{ID.format('review_id')}/pack.pdf")
@blp.response(200, description="the review pack, A4 PDF", content_type="application/pdf")
def review_pdf(review_id: int):
    return _pdf(quality_documents.review_document(runtime(), current_actor(), review_id, "pdf"), f"xem-xet-lanh-dao-{review_id}.pdf")


@blp.post(f"/reviews/{ID.format('review_id')}/decisions")
@blp.arguments(DecisionIn)
@blp.response(204)
def decide(body, review_id: int):
    quality_review.record_decision(runtime(), current_actor(), review_id, body["text"])


@blp.post(f"/reviews/{ID.format('review_id')}/actions")
@blp.arguments(ActionIn)
@blp.response(201, Created)
def add_review_action(body, review_id: int):
    """An action decided by the review, tracked like a corrective action."""
    return {"id": quality.add_action(runtime(), current_actor(), review_id=review_id, **body)}
