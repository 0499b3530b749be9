"""Integrators' webhook subscriptions per commune, and the commune's notice texts to
applicants (chair or province admin)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Instant, PageMeta, Schema, whole_list
from engine.services import notices, webhooks

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
