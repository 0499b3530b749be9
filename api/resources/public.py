"""The citizen's lookup: dossier code + PIN from the appointment slip, no login."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from api.auth import runtime, source_address
from api.schemas import Instant, Schema
from engine.views import public

blp = Blueprint("public", __name__, url_prefix="/api/public", description="Status lookup for citizens (no login)")


class LookupSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 40), metadata={"example": "TRIPHU-260303-0001"})
    pin = fields.String(required=True, validate=validate.Length(1, 12), load_only=True,
                        metadata={"description": "the digits printed on the appointment slip"})


class PublicStepSchema(Schema):
    name = fields.String(required=True)
    started_at = Instant(required=True)
    due_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    state = fields.String(required=True)


class PublicStatusSchema(Schema):
    code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    status_code = fields.Integer(required=True, metadata={"description": "national status code 1-10"})
    status_vi = fields.String(required=True)
    status_en = fields.String(required=True)
    received_at = Instant(required=True)
    appointment_at = Instant(required=True)
    original_appointment_at = Instant(required=True)
    finished_at = Instant(allow_none=True)
    returned_at = Instant(allow_none=True)
    steps = fields.List(fields.Nested(PublicStepSchema), required=True)


@blp.post("/lookup")
@blp.arguments(LookupSchema)
@blp.response(200, PublicStatusSchema)
@blp.doc(security=[])
def lookup(body):
    """Status, steps and appointment of a dossier (no personal data). Rate-limited per
    address and per code; a wrong PIN answers exactly like an unknown code (404)."""
    limiter = current_app.extensions["isoflow"].public_lookup_limiter
    limiter.hit(f"address:{source_address()}", f"code:{body['code'].strip().upper()}")
    return public.lookup(runtime(), body["code"], body["pin"])


def setup(extension) -> None:
    extension.exempt_from_csrf(lookup)
