"""The audit trail (ISO records): browse, verify the hash chain, export as CSV or JSON."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Instant, PageArgs, PageMeta, Schema, page_of
from engine.services import audit_log

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="The hash-chained event log")


class FilterArgs(Schema):
    kind = fields.String(validate=validate.Length(1, 64), metadata={"description": "e.g. task.completed"})
    entity_type = fields.String(validate=validate.Length(1, 32))
    entity_id = fields.String(validate=validate.Length(1, 64))
    actor_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    unit_code = fields.String(validate=validate.Length(1, 32))
    dossier = fields.String(validate=validate.Length(1, 40), metadata={
        "description": "a dossier's code: the events of the dossier and of its steps"})
    since = Instant(metadata={"description": "inclusive"})
    until = Instant(metadata={"description": "exclusive"})


class ListArgs(FilterArgs, PageArgs):
    pass


class ExportArgs(FilterArgs):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "json"]))


class EventSchema(Schema):
    id = fields.Integer(required=True)
    at = Instant(required=True)
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(required=True)
    source_address = fields.String(allow_none=True)
    kind = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.String(required=True)
    org_unit_id = fields.Integer(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class BreakSchema(Schema):
    event_id = fields.Integer(required=True)
    problem = fields.String(required=True, metadata={"description": "changed | unlinked | missing_head"})


class VerifySchema(Schema):
    intact = fields.Boolean(required=True)
    breaks = fields.List(fields.Nested(BreakSchema), required=True)


def _filter(args) -> audit_log.EventFilter:
    return audit_log.EventFilter(**{k: args.get(k) for k in
                                    ("kind", "entity_type", "entity_id", "actor_id", "unit_code", "since", "until",
                                              "dossier")})


@blp.get("/events")
@blp.arguments(ListArgs, location="query", unknown=RAISE)
@blp.response(200, EventPageSchema)
def list_events(args):
    """Events of the units the caller may audit (chair, vice chair, province_admin), newest first."""
    return _events(args)


def _events(args):
    items, total = audit_log.list_events(runtime(), current_actor(), _filter(args), limit=args["limit"],
                                         offset=args["offset"], with_total=True)
    return page_of(items, args["limit"], args["offset"], total)


@blp.get("")
@blp.arguments(ListArgs, location="query", unknown=RAISE)
@blp.response(200, EventPageSchema)
def list_audit(args):
    """The same as /api/audit/events: `GET /api/audit?dossier=CODE` is a dossier's trail."""
    return _events(args)


@blp.get("/verify")
@blp.response(200, VerifySchema)
def verify():
    """Recompute the hash chain: a changed, removed or inserted row is reported by event id."""
    breaks = audit_log.verify(runtime(), current_actor())
    return {"intact": not breaks, "breaks": breaks}


@blp.get("/export")
@blp.arguments(ExportArgs, location="query", unknown=RAISE)
@blp.response(200, description="CSV (text/csv) or a JSON array (application/json), in chain order",
              content_type="text/csv")
@blp.alt_response(200, description="JSON array", content_type="application/json", success=True)
def export(args):
    """Export the events the caller may audit, in chain order (streamed)."""
    actor, rt, flt = current_actor(), runtime(), _filter(args)
    flt.check()
    audit_log.list_events(rt, actor, flt, limit=1)  # permission and filter errors before streaming starts
    events = audit_log.iter_events(rt, actor, flt)
    if args["format"] == "json":
        body, mimetype, ext = audit_log.export_json(events), "application/json", "json"
    else:
        body, mimetype, ext = audit_log.export_csv(events), "text/csv", "csv"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="isoflow-audit.{ext}"'
    return response
