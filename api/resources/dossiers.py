"""Dossiers at the one-stop desk and in the back office (docs/domain.md §3), and their steps."""
from __future__ import annotations

from dataclasses import asdict, replace

from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError, fields, validate

from api.auth import current_actor, read_unit, runtime
from api.schemas import Day, Instant, PageArgs, PageMeta, PageOf, Schema, page_of, whole_list
from engine.errors import InvalidInput, NotFound
from engine.procedure.table_facts import COMPONENT_KINDS
from engine.domain.roles import ROLES
from engine.services import dossiers
from engine.views import dossiers as views
from engine.services.dossiers import Applicant, ReceivedComponent
from engine.views import desk as desk_views
from engine.domain.lifecycle import StepState, status_label
from engine.views import forms as form_views, worklist

blp = Blueprint("dossiers", __name__, url_prefix="/api", description="Dossiers, their steps and the process control sheet")

DOSSIER_REF = "<string(maxlength=40):ref>"
ID = validate.Range(1, 2**31 - 1)
REASON = validate.Length(1, 1000)


def _ref(ref: str) -> int | str:
    """A dossier is addressed by its code (TRIPHU-260303-0001) or its numeric id."""
    if "\x00" in ref:
        raise NotFound(f"dossier {ref!r} not found", f"không tìm thấy hồ sơ {ref!r}", code="not_found")
    return int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 10 else ref.upper()


# --- schemas ------------------------------------------------------------------------


class ApplicantSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    id_number = fields.String(load_default="", validate=validate.Length(0, 32))
    address = fields.String(load_default="", validate=validate.Length(0, 300))
    phone = fields.String(load_default="", validate=validate.Length(0, 32))
    email = fields.String(load_default="", validate=validate.Length(0, 254))


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class ComponentSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(1, 500), _not_blank],
                         metadata={"description": "the paper, as the procedure's checklist names it (form 01 lists it)"})
    kind = fields.String(load_default="original", validate=validate.OneOf(sorted(COMPONENT_KINDS)), metadata={
        "description": "; ".join(f"{code}: {vi} ({en})" for code, (vi, en) in COMPONENT_KINDS.items())})
    count = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 99), metadata={"description": "copies"})


class ReceiveSchema(Schema):
    unit_code = fields.String(required=True, validate=validate.Length(1, 32))
    procedure_code = fields.String(required=True, validate=validate.Length(1, 32))
    applicant = fields.Nested(ApplicantSchema, required=True)
    channel = fields.Integer(load_default=1, validate=validate.OneOf([1, 2, 3]),
                             metadata={"description": "1 in person, 2 online, 3 postal"})
    data = fields.Dict(load_default=dict, metadata={"description": "dossier data the procedure's gateways read"})
    components = fields.List(fields.Nested(ComponentSchema), load_default=None, validate=validate.Length(0, 100),
                             metadata={"description": "the papers received (the checklist of "
                                                      "`GET /api/procedures/{code}/receipt-form`); kept on the "
                                                      "dossier (`data.components_received`) and listed on form 01"})
    first_step = fields.Dict(load_default=None, metadata={
        "description": "one entry: the desk's first step's own fields (`form_schema` of "
                       "`GET /api/procedures/{code}/receipt-form`); the step is completed in the same transaction, "
                       "with the applicant, channel and papers filled from the receipt. A problem in them stores "
                       "nothing (422, problems named `first_step.<field>`)."})


class ReceiptFormComponentSchema(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_vi = fields.String(required=True)
    kind_en = fields.String(required=True)
    count = fields.Integer(required=True)
    note = fields.String(required=True)


class ReceiptFormArgs(Schema):
    unit_code = fields.String(load_default=None, validate=validate.Length(1, 32), metadata={
        "description": "the receiving commune (its own local version wins); without it, the province-wide version"})


class ReceiptSchema(Schema):
    dossier_id = fields.Integer(required=True)
    first_step_completed = fields.Boolean(required=True, metadata={
        "description": "the desk's first step was completed at receipt (`first_step` given)"})
    code = fields.String(required=True)
    pin = fields.String(required=True, metadata={"description": "print it on the slip; it is not stored in clear"})
    received_at = Instant(required=True)
    due_at = Instant(required=True)
    procedure_code = fields.String(required=True)
    version_no = fields.Integer(required=True)


def _step_state_label(language: str):
    def label(task) -> str:
        state = task["state"] if isinstance(task, dict) else task.state
        try:
            return StepState(state).label(language)
        except ValueError:
            return str(state)
    return label


def _national_label(language: str):
    def label(obj) -> str:
        code = obj["status_code"] if isinstance(obj, dict) else obj.status_code
        return status_label(code, language)
    return label


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    dossier_id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    applicant_name = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    org_unit_code = fields.String(required=True)
    assignee_id = fields.Integer(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    state = fields.String(required=True)
    clock = fields.String(required=True, metadata={"description": "running | paused (waiting on the citizen)"})
    status_code = fields.Integer(required=True)
    form = fields.String(allow_none=True)
    created_at = Instant(required=True)
    due_at = Instant(allow_none=True)
    dossier_due_at = Instant(required=True)
    completed_at = Instant(allow_none=True)
    outcome = fields.String(allow_none=True)
    classification = fields.String(allow_none=True)
    urgency = fields.String(required=True, metadata={"description": "overdue | due_today | due_soon | normal | paused | done"})
    status = fields.Function(lambda task: task["state"] if isinstance(task, dict) else task.state, dump_only=True,
                             metadata={"description": "the step's own state: open | completed | cancelled",
                                       "type": "string"})
    status_vi = fields.Function(_step_state_label("vi"), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_step_state_label("en"), dump_only=True, metadata={"type": "string"})
    dossier_status_vi = fields.Function(_national_label("vi"), dump_only=True, metadata={
        "type": "string", "description": "the national status (status_code) of the step's dossier"})
    dossier_status_en = fields.Function(_national_label("en"), dump_only=True, metadata={"type": "string"})


class ChoiceSchema(Schema):
    value = fields.Raw(required=True)
    label_vi = fields.String(required=True)
    label_en = fields.String(required=True)


class FormFieldHintSchema(Schema):
    name = fields.String(required=True)
    label_vi = fields.String(required=True)
    label_en = fields.String(required=True)
    label_en_source = fields.String(required=True, metadata={
        "description": "form: the form's `x-title-en`; field_name: spelled out from the field's name"})
    type = fields.String(required=True, metadata={"description": "the JSON type, `choice` for a list of constants"})
    format = fields.String(allow_none=True)
    required = fields.Boolean(required=True, metadata={"description": "required whatever the outcome"})
    choices = fields.List(fields.Nested(ChoiceSchema), allow_none=True)
    multiple = fields.Boolean(required=True)


class UiHintsSchema(Schema):
    title_vi = fields.String(required=True)
    title_en = fields.String(required=True)
    order = fields.List(fields.String(), required=True)
    fields_ = fields.List(fields.Nested(FormFieldHintSchema), required=True, data_key="fields", attribute="fields")
    outcome_field = fields.String(allow_none=True)
    outcome_requires = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                                   metadata={"description": "outcome value -> the fields that outcome requires"})


class TaskDetailSchema(TaskSchema):
    form_schema = fields.Dict(allow_none=True, metadata={
        "description": "JSON Schema (draft 2020-12) of the data `complete` takes; null for a step without a form"})
    ui = fields.Nested(UiHintsSchema, allow_none=True, metadata={
        "description": "how to draw the form: field order, labels in both languages, what each outcome requires"})
    may_perform = fields.Boolean(required=True, metadata={"description": "the caller holds the step's role today"})
    offers_supplement = fields.Boolean(required=True, metadata={
        "description": "the form offers the outcome `supplement` (request-supplementation)"})
    data = fields.Dict(allow_none=True, metadata={"description": "what was submitted, once completed"})


class ReceiptFormSchema(Schema):
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    version_no = fields.Integer(required=True, metadata={"description": "the version a dossier received today runs on"})
    components = fields.List(fields.Nested(ReceiptFormComponentSchema), required=True,
                             metadata={"description": "the papers the procedure asks for (the desk's checklist)"})
    components_unconfirmed = fields.String(required=True, metadata={
        "description": "why the checklist is not confirmed against the legal source, when it is not (else empty)"})
    step_name = fields.String(allow_none=True, metadata={
        "description": "the desk's first step, filled at receipt with `first_step`; null: the procedure does not "
                       "begin at the desk, so `first_step` is refused"})
    form_schema = fields.Dict(allow_none=True, metadata={
        "description": "JSON Schema of `first_step`: the step's form without the fields the receipt fills"})
    receipt_fields = fields.List(fields.String(), required=True, metadata={
        "description": "the step's fields filled from the receipt (applicant, channel, papers)"})
    ui = fields.Nested(UiHintsSchema, allow_none=True)


class PauseSchema(Schema):
    kind = fields.String(required=True)
    started_at = Instant(required=True)
    ended_at = Instant(allow_none=True)
    reason = fields.String(required=True)


class DossierSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    org_unit_code = fields.String(required=True)
    org_unit_name = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    field = fields.String(required=True)
    version_no = fields.Integer(required=True)
    applicant_name = fields.String(required=True)
    applicant_id_number = fields.String(required=True)
    applicant_address = fields.String(required=True)
    applicant_phone = fields.String(required=True)
    applicant_email = fields.String(required=True)
    channel = fields.Integer(required=True)
    status_code = fields.Integer(required=True)
    status_label = fields.String(required=True, metadata={"description": "the same as status_vi (kept for clients)"})
    status_vi = fields.Function(_national_label("vi"), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_national_label("en"), dump_only=True, metadata={"type": "string"})
    state = fields.String(required=True)
    received_at = Instant(required=True)
    due_at = Instant(required=True)
    original_due_at = Instant(required=True)
    finished_at = Instant(allow_none=True)
    returned_at = Instant(allow_none=True)
    classification = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    supplement_count = fields.Integer(required=True)
    apology_issued_at = Instant(allow_none=True)
    apology_due_at = Instant(allow_none=True)
    end_reason = fields.String(allow_none=True)
    urgency = fields.String(required=True)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)
    pauses = fields.List(fields.Nested(PauseSchema), required=True)
    data = fields.Dict(required=True)


class DossierSummarySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    org_unit_code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    field = fields.String(required=True)
    applicant_name = fields.String(required=True)
    channel = fields.Integer(required=True)
    status_code = fields.Integer(required=True)
    status_label = fields.String(required=True, metadata={"description": "the same as status_vi (kept for clients)"})
    status_vi = fields.Function(_national_label("vi"), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_national_label("en"), dump_only=True, metadata={"type": "string"})
    state = fields.String(required=True)
    received_at = Instant(required=True)
    due_at = Instant(required=True)
    finished_at = Instant(allow_none=True)
    classification = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    urgency = fields.String(required=True)


class DossierPageSchema(Schema):
    items = fields.List(fields.Nested(DossierSummarySchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class SearchArgs(PageArgs):
    code = fields.String(validate=validate.Length(1, 40), metadata={
        "description": "a whole dossier code, or its start with or without the commune's code (docs/api.md)"})
    applicant = fields.String(validate=validate.Length(1, 200), metadata={"description": "part of the applicant's name"})
    id_number = fields.String(validate=validate.Length(1, 32),
                              metadata={"description": "the applicant's national ID number, whole"})
    status_code = fields.Integer(validate=validate.Range(1, 10))
    procedure_code = fields.String(validate=validate.Length(1, 32))
    field = fields.String(validate=validate.Length(1, 64))
    unit_code = fields.String(validate=validate.Length(1, 32))
    received_from = Day(metadata={"description": "local date, inclusive"})
    received_to = Day(metadata={"description": "local date, inclusive"})
    state = fields.String(validate=validate.OneOf(["open", "closed"]))
    overdue_only = fields.Boolean(load_default=False)
    sort = fields.String(load_default="due_at", validate=validate.OneOf(sorted(views.SORTS)), metadata={
        "description": "a field name, ascending, or `-field`, descending"})


class TimelineRowSchema(Schema):
    task_id = fields.Integer(required=True)
    step = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    from_role = fields.String(allow_none=True)
    from_user = fields.String(allow_none=True)
    to_role = fields.String(required=True)
    to_user = fields.String(allow_none=True)
    handed_over_at = Instant(required=True)
    step_due_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    completed_by = fields.String(allow_none=True)
    result = fields.String(allow_none=True, metadata={"description": "early | on_time | late"})
    state = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(required=True)


class OutcomeSchema(Schema):
    dossier_id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    status_code = fields.Integer(required=True)
    status_vi = fields.Function(_national_label("vi"), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_national_label("en"), dump_only=True, metadata={"type": "string"})
    opened_task_ids = fields.List(fields.Integer(), required=True)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=REASON)


class FormDataSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "the step's form fields (JSON Schema of the form)"})


class SupplementationSchema(Schema):
    reason = fields.String(required=True, validate=REASON, metadata={"description": "what the citizen must bring (form 02)"})
    data = fields.Dict(load_default=dict)


class ApologySchema(Schema):
    reason = fields.String(required=True, validate=REASON)
    new_due_at = Instant(required=True, metadata={
        "description": "the new appointment (form 04): a working instant later than the current appointment"})


class InboxArgs(PageArgs):
    include_pool = fields.Boolean(load_default=True,
                                  metadata={"description": "also unclaimed steps of roles I hold"})


class QueueArgs(PageArgs):
    unit_code = fields.String(required=True, validate=validate.Length(1, 32))
    role = fields.String(validate=validate.OneOf(sorted(ROLES)))


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class ReassignSchema(Schema):
    user_id = fields.Integer(required=True, validate=ID)
    reason = fields.String(load_default="", validate=validate.Length(0, 1000))


# --- dossiers -----------------------------------------------------------------------


@blp.post("/dossiers")
@blp.arguments(ReceiveSchema)
@blp.response(201, ReceiptSchema)
def receive(body):
    """Receive a complete dossier at the desk: code, appointment (due instant) and slip PIN;
    with `components` the papers received (form 01), with `first_step` the desk's first
    step completed in the same transaction (one entry)."""
    applicant = Applicant(**body["applicant"])
    components = [ReceivedComponent(c["name"].strip(), c["kind"], c["count"]) for c in body["components"] or []]
    first_step = body["first_step"]
    try:
        receipt = dossiers.receive(runtime(), current_actor(), unit_code=body["unit_code"],
                                   procedure_code=body["procedure_code"], applicant=applicant,
                                   channel=body["channel"], data=body["data"], components=components or None,
                                   first_step=first_step)
    except InvalidInput as error:
        if first_step is not None and error.code == "form_invalid":  # the step's form: name the fields as sent
            error.problems = [replace(p, field=f"first_step.{p.field}" if p.field else "first_step")
                              for p in error.problems]
        raise
    return {**asdict(receipt), "first_step_completed": first_step is not None}


@blp.get("/procedures/<string(maxlength=64):code>/receipt-form")
@blp.arguments(ReceiptFormArgs, location="query", unknown=RAISE)
@blp.response(200, ReceiptFormSchema)
def receipt_form(args, code: str):
    """What `POST /api/dossiers` takes for this procedure in a commune today: the papers to
    check (`components`) and the desk's first step (`first_step`: its JSON Schema and UI hints)."""
    form = desk_views.receipt_form(runtime(), current_actor(), unit_code=args["unit_code"] or "", procedure_code=code)
    typed = dossiers.desk_step_schema(form.step_schema)
    return {"procedure_code": form.procedure_code, "procedure_name": form.procedure_name,
            "version_no": form.version_no, "components": form.components,
            "components_unconfirmed": form.components_unconfirmed, "step_name": form.step_name,
            "form_schema": typed, "receipt_fields": sorted(dossiers.receipt_fields(form.step_schema)),
            "ui": form_views.ui_hints(typed) if typed else None}


@blp.get("/dossiers")
@blp.arguments(SearchArgs, location="query", unknown=RAISE)
@blp.response(200, DossierPageSchema)
def search(args):
    """Search the dossiers of the caller's communes (another commune's never appear)."""
    limit, offset = args.pop("limit"), args.pop("offset")
    items, total = views.search_dossiers(runtime(), current_actor(), views.DossierFilter(**args),
                                         limit=limit, offset=offset)
    return {"items": items, "page": {"limit": limit, "offset": offset, "total": total}}


@blp.get(f"/dossiers/{DOSSIER_REF}")
@blp.response(200, DossierSchema)
def get(ref: str):
    """One dossier with its open steps and pauses (404 for another commune's dossier)."""
    return views.dossier_view(read_unit(), current_actor(), _ref(ref))


@blp.get(f"/dossiers/{DOSSIER_REF}/timeline")
@blp.response(200, PageOf(TimelineRowSchema, "TimelinePage"))
def timeline(ref: str):
    """The process control sheet (form 05): one row per hand-over, with step due and result (the whole sheet)."""
    return whole_list(views.timeline(read_unit(), current_actor(), _ref(ref)))


@blp.post(f"/dossiers/{DOSSIER_REF}/supplement")
@blp.arguments(FormDataSchema)
@blp.response(200, OutcomeSchema)
def supplement(body, ref: str):
    """The citizen brought the missing papers: the clock runs again."""
    return dossiers.supplement(runtime(), current_actor(), _ref(ref), body["data"])


@blp.post(f"/dossiers/{DOSSIER_REF}/refuse")
@blp.arguments(ReasonSchema)
@blp.response(200, OutcomeSchema)
def refuse(body, ref: str):
    """Refuse with reasons (form 03; chair or vice chair)."""
    return dossiers.refuse(runtime(), current_actor(), _ref(ref), body["reason"])


@blp.post(f"/dossiers/{DOSSIER_REF}/withdraw")
@blp.arguments(ReasonSchema)
@blp.response(200, OutcomeSchema)
def withdraw(body, ref: str):
    """The citizen withdraws the dossier (status 7)."""
    return dossiers.withdraw(runtime(), current_actor(), _ref(ref), body["reason"])


@blp.post(f"/dossiers/{DOSSIER_REF}/stop")
@blp.arguments(ReasonSchema)
@blp.response(200, OutcomeSchema)
def stop(body, ref: str):
    """Stop processing (status 8; chair or vice chair)."""
    return dossiers.stop(runtime(), current_actor(), _ref(ref), body["reason"])


@blp.post(f"/dossiers/{DOSSIER_REF}/return-result")
@blp.arguments(FormDataSchema)
@blp.response(200, OutcomeSchema)
def return_result(body, ref: str):
    """Hand the result (or the refusal letter) to the citizen (status 10); the data fit the
    return step's form, or after a chair's refusal the `common_return_refusal` form."""
    return dossiers.return_result(runtime(), current_actor(), _ref(ref), body["data"])


@blp.post(f"/dossiers/{DOSSIER_REF}/apology")
@blp.arguments(ApologySchema)
@blp.response(200, OutcomeSchema)
def apology(body, ref: str):
    """Apology letter with a new appointment (form 04), at most once per dossier."""
    return dossiers.issue_apology(runtime(), current_actor(), _ref(ref), body["reason"], body["new_due_at"])


# --- tasks --------------------------------------------------------------------------


@blp.get("/tasks/inbox")
@blp.arguments(InboxArgs, location="query", unknown=RAISE)
@blp.response(200, TaskPageSchema)
def inbox(args):
    """My open steps by due instant: assigned to me, and unclaimed ones of my roles. The
    page counts them up to 1,000 (`total_exact` false beyond)."""
    items, counted = views.inbox_page(read_unit(), current_actor(), limit=args["limit"], offset=args["offset"],
                                      include_pool=args["include_pool"])
    return page_of(items, args["limit"], args["offset"], counted.total, exact=counted.exact)


@blp.get("/tasks/queue")
@blp.arguments(QueueArgs, location="query", unknown=RAISE)
@blp.response(200, TaskPageSchema)
def queue(args):
    """A commune's open steps by due instant, optionally of one role (commune staff)."""
    items, total = views.queue_page(read_unit(), current_actor(), unit_code=args["unit_code"], role=args.get("role"),
                                    limit=args["limit"], offset=args["offset"])
    return page_of(items, args["limit"], args["offset"], total)


@blp.get("/tasks/<int(min=1, max=2147483647):task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id: int):
    """One step with its form as JSON Schema and the hints to draw and fill it."""
    detail = worklist.task_detail(runtime(), current_actor(), task_id)
    body = dict(vars(detail.task))
    body.update(may_perform=detail.may_perform, offers_supplement=detail.offers_supplement, data=detail.data,
                form_schema=detail.schema, ui=form_views.ui_hints(detail.schema) if detail.schema else None)
    return body


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/claim")
@blp.response(204)
def claim(task_id: int):
    """Take an unclaimed step of a role I hold."""
    dossiers.claim(runtime(), current_actor(), task_id)


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/unclaim")
@blp.response(204)
def unclaim(task_id: int):
    """Put a step I claimed back in the commune queue."""
    dossiers.unclaim(runtime(), current_actor(), task_id)


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/complete")
@blp.arguments(FormDataSchema)
@blp.response(200, OutcomeSchema)
def complete(body, task_id: int):
    """Complete a step with its form data; the workflow moves on."""
    return dossiers.complete_task(runtime(), current_actor(), task_id, body["data"])


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/request-supplementation")
@blp.arguments(SupplementationSchema)
@blp.response(200, OutcomeSchema)
def request_supplementation(body, task_id: int):
    """Ask the citizen for more papers from this step (form 02, once per dossier); the clock pauses."""
    return dossiers.request_supplementation(runtime(), current_actor(), task_id, body["reason"], body["data"])


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/reassign")
@blp.arguments(ReassignSchema)
@blp.response(204)
def reassign(body, task_id: int):
    """Hand an open step to another holder of its role (chair or vice chair; audited)."""
    dossiers.reassign(runtime(), current_actor(), task_id, body["user_id"], body["reason"])
