"""Marshmallow schemas shared by the resources: errors, pagination, instants."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.calendar import VN_TZ

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class StrictSchema(Schema):
    """Unknown fields are an error (the default in marshmallow), said once here for readers."""


class ProblemItemSchema(Schema):
    code = fields.String(required=True)
    message_vi = fields.String(required=True)
    message_en = fields.String(required=True)
    hint = fields.String()
    field = fields.String(metadata={"description": "dotted path of the offending field"})
    element_id = fields.String()
    line = fields.Integer()


class ProblemSchema(Schema):
    """problem+json (RFC 9457) with isoflow's bilingual extension members."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String()
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message_vi = fields.String(required=True)
    message_en = fields.String(required=True)
    hint = fields.String()
    problems = fields.List(fields.Nested(ProblemItemSchema))
    details = fields.Dict()


def Instant(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 instant; a time without offset is read in Asia/Ho_Chi_Minh."""
    return fields.AwareDateTime(default_timezone=VN_TZ, **kwargs)


class PageArgs(Schema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(1, MAX_PAGE_SIZE),
                           metadata={"description": f"page size, at most {MAX_PAGE_SIZE}"})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class PageMeta(Schema):
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    total = fields.Integer(metadata={"description": "number of matching items, when counted"})


class MessageSchema(Schema):
    ok = fields.Boolean(required=True)
