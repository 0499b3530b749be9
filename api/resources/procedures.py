"""The procedure library (ISO 9001 clause 7.5): upload a BPMN model and read its
validation report, approve, publish with an effective date, retire, download, diff."""
from __future__ import annotations

import json
import re

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Day, Instant, PageArgs, PageMeta, ProblemItemSchema, Schema, page_of
from engine.services import procedures
from engine.errors import InvalidInput, Problem
from engine.views import forms as form_views, library

blp = Blueprint("procedures", __name__, url_prefix="/api", description="Procedure models and their controlled versions")

MAX_SOURCE_CHARS = 2_000_000
FILENAME_PATTERN = r"^[\w .()-]{1,200}\.bpmn$"


class UploadSchema(Schema):
    filename = fields.String(required=True, validate=validate.Regexp(FILENAME_PATTERN,
                                                                    error="a file name ending in .bpmn"))
    source = fields.String(required=True, validate=validate.Length(1, MAX_SOURCE_CHARS),
                           metadata={"description": "the BPMN XML text (UTF-8)"})
    forms = fields.Dict(keys=fields.String(validate=validate.Length(1, 128)), values=fields.Dict(), load_default=dict,
                        metadata={"description": "form id -> JSON Schema of the step forms the model names; a form left out "
                                 "is taken from the newest stored version that has it, else from the library "
                                 "(GET /api/forms), so a model whose forms exist may be sent alone"})
    change_note = fields.String(load_default="", validate=validate.Length(0, 1000))


class SubmitSchema(UploadSchema):
    scope_unit_code = fields.String(load_default=None, validate=validate.Length(1, 32), metadata={
        "description": "a commune's code for its own local version; leave out for a province-wide version"})


VERSION_STATUS_LABELS = {"draft": ("bản dự thảo", "draft"), "approved": ("đã phê duyệt", "approved"),
                         "retired": ("đã bãi bỏ", "retired")}


def _version_label(index: int):
    def label(obj) -> str:
        status = obj["status"] if isinstance(obj, dict) else obj.status
        return VERSION_STATUS_LABELS.get(status, (status, status))[index]
    return label


class ValidationReportSchema(Schema):
    file = fields.String(required=True)
    ok = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemItemSchema), required=True)


class VersionSchema(Schema):
    version_id = fields.Integer(required=True)
    procedure_code = fields.String(required=True)
    version_no = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "draft | approved | retired"})
    status_vi = fields.Function(_version_label(0), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_version_label(1), dump_only=True, metadata={"type": "string"})
    content_hash = fields.String(required=True)
    filename = fields.String(required=True)
    change_note = fields.String(required=True)
    created_at = Instant(required=True)
    created_by_id = fields.Integer(allow_none=True)
    approved_at = Instant(allow_none=True)
    approved_by_id = fields.Integer(allow_none=True)
    effective_from = Day(allow_none=True, metadata={"description": "first day new dossiers get this version"})
    legal_effective_from = Day(allow_none=True, metadata={"description": "the legal effective date given at publication"})
    scope_unit_code = fields.String(allow_none=True, metadata={
        "description": "null: province-wide; else the commune whose local version this is"})
    retired_at = Instant(allow_none=True)
    metadata = fields.Dict(required=True)


class SubmittedSchema(Schema):
    version_id = fields.Integer(required=True)
    procedure_code = fields.String(required=True)
    version_no = fields.Integer(required=True)
    status = fields.String(required=True)
    status_vi = fields.Function(_version_label(0), dump_only=True, metadata={"type": "string"})
    status_en = fields.Function(_version_label(1), dump_only=True, metadata={"type": "string"})
    content_hash = fields.String(required=True)
    effective_from = Day(allow_none=True, metadata={"description": "first day new dossiers get this version"})
    legal_effective_from = Day(allow_none=True, metadata={"description": "the legal effective date given at publication"})
    scope_unit_code = fields.String(allow_none=True, metadata={
        "description": "null: province-wide; else the commune whose local version this is"})
    created = fields.Boolean(required=True, metadata={"description": "false when identical content was already stored"})


class ProcedureSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    field = fields.String(required=True)
    effective_version_no = fields.Integer(allow_none=True, metadata={
        "description": "the province-wide version new dossiers get today (a commune's local version may override it)"})
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class ProcedurePageSchema(Schema):
    items = fields.List(fields.Nested(ProcedureSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class ProcedureListArgs(PageArgs):
    field = fields.String(validate=validate.Length(1, 64))
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "part of the code or name"})
    status = fields.String(validate=validate.OneOf(library.VERSION_STATUSES))


class PublishSchema(Schema):
    effective_from = Day(required=True, metadata={
        "description": "the legal effective date (the decision's). Recorded as given; new dossiers use the version "
                       "from this day, or from the day of publication when this day has passed"})


class DiffArgs(Schema):
    against = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1),
                             metadata={"description": "the older version id"})


class ChangeSchema(Schema):
    key = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class DiffSchema(Schema):
    procedure_code = fields.String(required=True)
    from_version = fields.Nested(VersionSchema, required=True)
    to_version = fields.Nested(VersionSchema, required=True)
    metadata_changes = fields.List(fields.Nested(ChangeSchema), required=True)
    steps_added = fields.List(fields.String(), required=True)
    steps_removed = fields.List(fields.String(), required=True)
    source_diff = fields.String(required=True)
    source_diff_truncated = fields.Boolean(required=True)


@blp.get("/procedures")
@blp.arguments(ProcedureListArgs, location="query", unknown=RAISE)
@blp.response(200, ProcedurePageSchema)
def list_procedures(args):
    """Procedures by code, each with its versions and the version in effect today."""
    items, total = library.list_procedures(runtime(), current_actor(), field_code=args.get("field"),
                                           query=args.get("q"), status=args.get("status"), limit=args["limit"],
                                           offset=args["offset"])
    return page_of(items, args["limit"], args["offset"], total)


@blp.post("/procedures/validate")
@blp.arguments(UploadSchema)
@blp.response(200, ValidationReportSchema)
def validate_model(body):
    """The validation report of a model, without storing it (iso_consultant)."""
    rt, actor = runtime(), current_actor()
    report = library.validate_upload(rt, actor, body["source"].encode("utf-8"), body["filename"],
                                     form_views.complete_forms(rt, actor, body["forms"]))
    return report.to_dict()


@blp.post("/procedures/versions")
@blp.arguments(SubmitSchema)
@blp.response(201, SubmittedSchema)
def submit_version(body):
    """Store a valid model as a draft version (iso_consultant): province-wide, or a
    commune's local version with `scope_unit_code`. An invalid model answers 422 with
    every problem (element, line, bilingual message, hint)."""
    return _submit(body["source"].encode("utf-8"), body["filename"], body["forms"], body["change_note"],
                   body["scope_unit_code"])


def _submit(source: bytes, filename: str, forms: dict, change_note: str, scope_unit_code: str | None):
    rt, actor = runtime(), current_actor()
    return procedures.submit_version(rt, actor, source, filename, forms=form_views.complete_forms(rt, actor, forms),
                                     change_note=change_note, scope_unit_code=scope_unit_code)


class MultipartFilesSchema(Schema):
    bpmn = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "the .bpmn file (UTF-8 XML)"})
    forms = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), load_default=list, metadata={
        "description": "JSON Schema files named <form id>.json; forms left out are resolved as for the JSON upload"})


class MultipartFieldsSchema(Schema):
    change_note = fields.String(load_default="", validate=validate.Length(0, 1000))
    scope_unit_code = fields.String(load_default=None, validate=validate.Length(1, 32))


def _upload_problem(field: str, en: str, vi: str) -> InvalidInput:
    return InvalidInput(f"the upload is invalid: {en}", f"tệp tải lên không hợp lệ: {vi}", code="invalid_input",
                        hint="send the .bpmn file as `bpmn` and each form as a `forms` file named <form id>.json",
                        problems=[Problem("invalid", vi, en, field=field)])


@blp.post("/procedures/versions/upload")
@blp.arguments(MultipartFilesSchema, location="files")
@blp.arguments(MultipartFieldsSchema, location="form")
@blp.response(201, SubmittedSchema)
def upload_version(files, form):
    """The same as `POST /procedures/versions`, as multipart/form-data: the model file
    `bpmn`, optional `forms` files, `change_note`, `scope_unit_code`."""
    bpmn = files["bpmn"]
    filename = getattr(bpmn, "filename", "") or ""
    if not re.match(FILENAME_PATTERN, filename):
        raise _upload_problem("bpmn", "a file name ending in .bpmn", "cần một tệp có đuôi .bpmn")
    source = bpmn.read(MAX_SOURCE_CHARS * 4 + 1)
    if not source or len(source) > MAX_SOURCE_CHARS * 4:
        raise _upload_problem("bpmn", "the file is empty or too large", "tệp rỗng hoặc quá lớn")
    forms: dict = {}
    for item in request.files.getlist("forms"):
        name = (getattr(item, "filename", "") or "").rsplit("/", 1)[-1]
        if not name.endswith(".json"):
            raise _upload_problem("forms", f"{name!r} is not named <form id>.json",
                                  f"{name!r} không có tên dạng <mã biểu mẫu>.json")
        try:
            schema = json.loads(item.read(512 * 1024 + 1).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _upload_problem("forms", f"{name} is not UTF-8 JSON", f"{name} không phải JSON UTF-8") from None
        forms[name.removesuffix(".json")] = schema
    return _submit(source, filename, forms, form["change_note"], form["scope_unit_code"])


@blp.get("/procedure-versions/<int(min=1, max=2147483647):version_id>")
@blp.response(200, VersionSchema)
def get_version(version_id: int):
    """One version with its status history and metadata."""
    return library.get_version(runtime(), current_actor(), version_id)


@blp.get("/procedure-versions/<int(min=1, max=2147483647):version_id>/source")
@blp.response(200, description="the BPMN file as submitted", content_type="application/xml")
def download_source(version_id: int):
    """Download the BPMN source of a version."""
    filename, source, _ = library.version_source(runtime(), current_actor(), version_id)
    response = Response(source, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blp.post("/procedure-versions/<int(min=1, max=2147483647):version_id>/approve")
@blp.response(200, SubmittedSchema)
def approve(version_id: int):
    """Approve a draft (province_admin for a province-wide version; for a commune's local
    version also that commune's chair; never its own author)."""
    return procedures.approve_version(runtime(), current_actor(), version_id)


@blp.post("/procedure-versions/<int(min=1, max=2147483647):version_id>/publish")
@blp.arguments(PublishSchema)
@blp.response(200, SubmittedSchema)
def publish(body, version_id: int):
    """Make an approved version effective: the legal date is recorded as given, and new
    dossiers get the version from that day or from today, whichever is later."""
    return procedures.publish_version(runtime(), current_actor(), version_id, body["effective_from"])


@blp.post("/procedure-versions/<int(min=1, max=2147483647):version_id>/retire")
@blp.response(200, SubmittedSchema)
def retire(version_id: int):
    """Retire a version; dossiers already running on it stay on it."""
    return procedures.retire_version(runtime(), current_actor(), version_id)


@blp.get("/procedure-versions/<int(min=1, max=2147483647):version_id>/diff")
@blp.arguments(DiffArgs, location="query", unknown=RAISE)
@blp.response(200, DiffSchema)
def diff(args, version_id: int):
    """What changed from version `against` to this one: metadata, steps and the BPMN text."""
    return library.diff_versions(runtime(), current_actor(), args["against"], version_id)
