"""Step forms for integrators: the library's forms and those of stored versions, each as
JSON Schema with the hints to draw it (labels in both languages, order, what each
outcome requires)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.resources.dossiers import UiHintsSchema
from api.schemas import PageArgs, PageMeta, Schema
from engine.views import forms as views

blp = Blueprint("forms", __name__, url_prefix="/api", description="Step forms (JSON Schema) and their UI hints")

SOURCES = (views.LIBRARY, views.STORED)


class FormListArgs(PageArgs):
    source = fields.String(validate=validate.OneOf(SOURCES), metadata={
        "description": "library: files of the procedure library; stored: carried by a stored procedure version"})
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "part of the name or title"})


class FormSummarySchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    sources = fields.List(fields.String(validate=validate.OneOf(SOURCES)), required=True, metadata={
        "description": "where the form is found: the library's files and/or stored versions"})
    version_ids = fields.List(fields.Integer(), required=True, metadata={
        "description": "the stored procedure versions that carry it, newest first"})


class FormPageSchema(Schema):
    items = fields.List(fields.Nested(FormSummarySchema), required=True)
    page = fields.Nested(PageMeta, required=True)


class FormDetailSchema(FormSummarySchema):
    schema = fields.Dict(required=True, metadata={"description": "JSON Schema (draft 2020-12)"})
    schema_source = fields.String(required=True, validate=validate.OneOf(SOURCES), metadata={
        "description": "which copy `schema` is: the library's file, else the newest stored version's"})
    ui = fields.Nested(UiHintsSchema, required=True)


@blp.get("/forms")
@blp.arguments(FormListArgs, location="query", unknown=RAISE)
@blp.response(200, FormPageSchema)
def list_forms(args):
    """Every known step form by name, saying whether it is in the library, in stored versions, or both."""
    items, total = views.list_forms(runtime(), current_actor(), source=args.get("source"), query=args.get("q"),
                                    limit=args["limit"], offset=args["offset"])
    return {"items": items, "page": {"limit": args["limit"], "offset": args["offset"], "total": total}}


@blp.get("/forms/<string(maxlength=100):name>")
@blp.response(200, FormDetailSchema)
def get_form(name: str):
    """One form: its JSON Schema and the hints to draw and fill it."""
    return views.get_form(runtime(), current_actor(), name)
