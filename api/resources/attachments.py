"""A dossier's scanned documents and photos: upload (multipart), list, download.

Only the dossier's own commune sees them: for anyone else the routes answer 404."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint
from flask_smorest.fields import Upload as UploadField
from marshmallow import fields, validate

from api.auth import current_actor, runtime
from api.schemas import Instant, Schema
from engine.services import attachments
from engine.services.attachments import KINDS, Upload
from engine.views import attachments as papers

blp = Blueprint("attachments", __name__, url_prefix="/api",
                description="Scanned documents and photos of a dossier (PDF, JPEG, PNG)")

DOSSIER_REF = "<string(maxlength=40):ref>"
ATTACHMENT_ID = "<int(min=1, max=2147483647):attachment_id>"


def _ref(ref: str) -> int | str:
    return int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 10 else ref.upper()


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    task_id = fields.Integer(allow_none=True, metadata={"description": "the step it belongs to, if any"})
    step_name = fields.String(allow_none=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "from the file's content: "
                                                                          "application/pdf, image/jpeg or image/png"})
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": " | ".join(KINDS)})
    at_receipt = fields.Boolean(required=True, metadata={"description": "taken in at the desk on receipt"})
    uploaded_at = Instant(required=True)
    uploaded_by = fields.String(allow_none=True)


class AttachFormSchema(Schema):
    kind = fields.String(load_default="document", validate=validate.OneOf(KINDS),
                         metadata={"description": "document (scan), photo, or result (the signed result, at a "
                                                  "leader's step)"})
    task_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 2**31 - 1),
                             metadata={"description": "attach to this step of the dossier"})
    at_receipt = fields.Boolean(load_default=False,
                                metadata={"description": "papers taken in at the desk on receipt (clerks only)"})


class AttachFilesSchema(Schema):
    files = fields.List(UploadField(), required=True, validate=validate.Length(min=1),
                        metadata={"description": "one or more PDF, JPEG or PNG files; the type is read from "
                                                 "the content, the size and count limits are the deployment's"})


@blp.get(f"/dossiers/{DOSSIER_REF}/attachments")
@blp.response(200, AttachmentSchema(many=True))
def list_attachments(ref: str):
    """The dossier's attachments, oldest first."""
    return papers.attachments_of(runtime(), current_actor(), _ref(ref))


@blp.post(f"/dossiers/{DOSSIER_REF}/attachments")
@blp.arguments(AttachFormSchema, location="form")
@blp.arguments(AttachFilesSchema, location="files")
@blp.response(201, AttachmentSchema(many=True))
def attach(form, files, ref: str):
    """Attach files (multipart/form-data, field `files`, repeatable); all or none are stored."""
    rt, who = runtime(), current_actor()
    limit = rt.settings.attachment_max_bytes + 1
    uploads = [Upload(f.filename or "", f.stream.read(limit)) for f in files["files"]]
    ids = set(attachments.attach(rt, who, _ref(ref), uploads, task_id=form["task_id"], kind=form["kind"],
                                 at_receipt=form["at_receipt"]))
    return [a for a in papers.attachments_of(rt, who, _ref(ref)) if a.id in ids]


@blp.get(f"/dossiers/{DOSSIER_REF}/attachments/{ATTACHMENT_ID}")
@blp.response(200, description="the file, with the type read from its content",
              content_type="application/octet-stream")
def download(ref: str, attachment_id: int):
    """Download one attachment (Content-Disposition: attachment, with its file name)."""
    from urllib.parse import quote

    view, data = papers.attachment_file(runtime(), current_actor(), _ref(ref), attachment_id)
    ascii_name = view.filename.encode("ascii", "replace").decode().replace("?", "_")
    response = Response(data, mimetype=view.content_type)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(view.filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response
