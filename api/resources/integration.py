"""Integrators' webhook subscriptions per commune, and the commune's notice texts to
applicants (chair or province admin)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Instant, PageMeta, Schema, whole_list
from engine.adapters.national_portal import OnlineSubmission
from engine.services import national_portal, notices, webhooks

blp = Blueprint("integration", __name__, url_prefix="/api",
                description="Webhooks for integrators and notices to applicants")

UNIT = validate.Length(1, 32)


class SubscribeSchema(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    url = fields.String(required=True, validate=validate.Length(1, 500), metadata={
        "description": "an http(s) URL; isoflow POSTs each event there as signed JSON"})
    events = fields.List(fields.String(validate=validate.OneOf(webhooks.EVENT_TYPES)), load_default=None,
                         validate=validate.Length(1, len(webhooks.EVENT_TYPES)),
                         metadata={"description": "the event types to receive; all when left out"})
    description = fields.String(load_default="", validate=validate.Length(0, 300))


class SubscriptionSchema(Schema):
    id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = Instant(required=True)
    secret = fields.String(allow_none=True, metadata={
        "description": "the HMAC-SHA256 signing key: shown once, in the answer to the creation"})


class SubscriptionPageSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class UnitArgs(Schema):
    unit_code = fields.String(required=True, validate=UNIT)


class TemplateSchema(Schema):
    kind = fields.String(required=True, metadata={"description": ", ".join(notices.KINDS)})
    sms_text = fields.String(required=True)
    email_subject = fields.String(required=True)
    email_body = fields.String(required=True)
    customised = fields.Boolean(required=True, metadata={"description": "false: the default text"})


class TemplatePageSchema(Schema):
    items = fields.List(fields.Nested(TemplateSchema), required=True)
    page = fields.Nested(PageMeta, required=True)
    placeholders = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "what a text may name, as {name}"})


class TemplateUpdateSchema(Schema):
    sms_text = fields.String(required=True, validate=validate.Length(1, 640))
    email_subject = fields.String(required=True, validate=validate.Length(1, 200))
    email_body = fields.String(required=True, validate=validate.Length(1, 5000))


@blp.post("/webhooks")
@blp.arguments(SubscribeSchema)
@blp.response(201, SubscriptionSchema)
def subscribe(body):
    """Subscribe an endpoint to a commune's dossier events (chair or province admin).
    Events: dossier.received, step.completed, status.changed, result.returned; each POST
    carries `X-Isoflow-Signature: sha256=<HMAC of the body with the secret>` and
    `X-Isoflow-Delivery: <id>`, is retried with backoff until a 2xx, and is sent once per
    event and subscription."""
    return webhooks.create_subscription(runtime(), current_actor(), body["unit_code"], body["url"], body["events"],
                                        body["description"])


@blp.get("/webhooks")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, SubscriptionPageSchema)
def list_subscriptions(args):
    """A commune's subscriptions (their secrets are never shown again)."""
    return whole_list(webhooks.list_subscriptions(runtime(), current_actor(), args["unit_code"]))


@blp.delete("/webhooks/<int(min=1, max=2147483647):subscription_id>")
@blp.response(204)
def unsubscribe(subscription_id: int):
    """Delete a subscription: what it still owed is cancelled."""
    webhooks.delete_subscription(runtime(), current_actor(), subscription_id)


@blp.get("/notice-templates")
@blp.arguments(UnitArgs, location="query", unknown=RAISE)
@blp.response(200, TemplatePageSchema)
def list_templates(args):
    """The commune's Vietnamese texts of the notices to applicants (its own or the defaults)."""
    return {**whole_list(notices.templates(runtime(), current_actor(), args["unit_code"])),
            "placeholders": notices.PLACEHOLDERS}


@blp.put(f"/notice-templates/<string(maxlength=32):unit_code>/<any({', '.join(repr(k) for k in notices.KINDS)}):kind>")
@blp.arguments(TemplateUpdateSchema)
@blp.response(200, TemplateSchema)
def update_template(body, unit_code: str, kind: str):
    """Store the commune's own text of one notice (chair or province admin); placeholders
    as {code}, {applicant}, {procedure}, {unit}, {due_at}, {reason}."""
    return notices.update_template(runtime(), current_actor(), unit_code, kind, **body)


# --- the national portal: online dossiers in, statuses out ---------------------------


class OnlineSubmissionSchema(Schema):
    portal_code = fields.String(required=True, validate=validate.Length(1, 64), metadata={
        "description": "the portal's code of the submission; a second submission with it answers 409"})
    unit_code = fields.String(required=True, validate=UNIT)
    procedure_code = fields.String(required=True, validate=validate.Length(1, 32),
                                   metadata={"description": "the national procedure code, e.g. 1.001193"})
    applicant_name = fields.String(required=True, validate=validate.Length(1, 200))
    applicant_id_number = fields.String(load_default="", validate=validate.Length(0, 32))
    applicant_address = fields.String(load_default="", validate=validate.Length(0, 300))
    applicant_phone = fields.String(load_default="", validate=validate.Length(0, 32))
    applicant_email = fields.String(load_default="", validate=validate.Length(0, 254))
    submitted_at = fields.String(load_default=None, validate=validate.Length(1, 40),
                                 metadata={"description": "when the portal recorded it (ISO 8601), kept as given"})
    data = fields.Dict(load_default=dict)


class OnlineReceiptSchema(Schema):
    dossier_id = fields.Integer(required=True)
    code = fields.String(required=True)
    pin = fields.String(required=True, metadata={"description": "the lookup PIN to pass on to the citizen"})
    received_at = Instant(required=True)
    due_at = Instant(required=True)
    procedure_code = fields.String(required=True)
    version_no = fields.Integer(required=True)


class StatusRecordSchema(Schema):
    portal_code = fields.String(allow_none=True)
    dossier_code = fields.String(required=True)
    unit_code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    status_code = fields.Integer(required=True)
    status_vi = fields.String(required=True)
    occurred_at = fields.String(required=True, metadata={"format": "date-time"})
    due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    received_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    event_id = fields.String(required=True)


class StatusPageSchema(Schema):
    items = fields.List(fields.Nested(StatusRecordSchema), required=True)
    page = fields.Nested(PageMeta, required=True)
    cursor = fields.Integer(required=True, metadata={"description": "give it as `after` next time"})


class StatusArgs(Schema):
    unit_code = fields.String(required=True, validate=UNIT)
    after = fields.Integer(load_default=0, validate=validate.Range(0, 2**62),
                           metadata={"description": "the cursor of the previous answer (0: from the start)"})
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 500),
                           metadata={"description": "events looked at (not records answered)"})


@blp.post("/online-dossiers")
@blp.arguments(OnlineSubmissionSchema)
@blp.response(201, OnlineReceiptSchema)
def receive_online(body):
    """A dossier submitted online on the portal, received as channel 2 (an account with
    the clerk's role in the commune). Idempotent on `portal_code`: a repeat answers 409
    `already_received` with the dossier's code in `details`."""
    return national_portal.receive_online(runtime(), current_actor(), OnlineSubmission(**body))


@blp.get("/status-changes")
@blp.arguments(StatusArgs, location="query", unknown=RAISE)
@blp.response(200, StatusPageSchema)
def status_changes(args):
    """Pull the national status changes of a commune's dossiers after a cursor: what the
    province's one-stop system copies to the portal."""
    records, cursor = national_portal.status_records(runtime(), current_actor(), args["after"],
                                                     unit_code=args["unit_code"], limit=args["limit"])
    return {**whole_list(records), "cursor": cursor}
