"""The API's schemas dump through a plan built once per schema (api.schemas.Schema.dump):
the same output as marshmallow's own path, which schemas with dump hooks, dotted
attributes or fields that serialize in their own way keep. The whole suite also compares
the two on every answer (tests/conftest.py sets api.schemas.VERIFY_FAST_DUMP)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import marshmallow
from marshmallow import fields, post_dump

from api.schemas import Instant, Schema


@dataclass
class Line:
    id: int
    name: str
    at: datetime | None
    tags: list[str]


class LineSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(attribute="name")  # read from another attribute
    at = Instant(allow_none=True)
    tags = fields.List(fields.String(), data_key="keywords")  # written under another key
    upper = fields.Function(lambda line: line["name"].upper() if isinstance(line, dict) else line.name.upper())
    absent = fields.String()  # not on the object: left out
    defaulted = fields.String(dump_default="x")
    secret = fields.String(load_only=True)


class PageSchema(Schema):
    items = fields.List(fields.Nested(LineSchema))
    first = fields.Nested(LineSchema, allow_none=True)


def marshmallow_dump(schema: marshmallow.Schema, obj, **kwargs):
    return marshmallow.Schema.dump(schema, obj, **kwargs)


def test_a_plan_dumps_what_marshmallow_dumps():
    lines = [Line(1, "an", datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc), ["a"]), Line(2, "bình", None, [])]
    page = {"items": lines, "first": None}
    schema = PageSchema()
    assert schema.dump(page) == marshmallow_dump(schema, page)
    assert schema.dump(page)["items"][0] == {"id": 1, "label": "an", "at": "2026-03-03T02:00:00Z",
                                             "keywords": ["a"], "upper": "AN", "defaulted": "x"}
    assert LineSchema().dump(lines, many=True) == marshmallow_dump(LineSchema(), lines, many=True)
    as_dict = {"id": 3, "name": "ca", "at": None, "tags": ["b"]}
    assert LineSchema().dump(as_dict) == marshmallow_dump(LineSchema(), as_dict)
    used = LineSchema()
    used.dump(as_dict)
    assert used.__dict__["_isoflow_dump_plan"] is not None


def test_hooks_and_dotted_attributes_keep_marshmallows_path():
    class Hooked(LineSchema):
        @post_dump
        def stamp(self, data, **kwargs):
            return {**data, "stamped": True}

    class Dotted(Schema):
        inner_name = fields.String(attribute="inner.name")

    line = Line(1, "an", None, ["a"])
    assert Hooked().dump(line)["stamped"] is True
    assert Dotted().dump({"inner": line}) == {"inner_name": "an"}
    for schema, obj in ((Hooked(), line), (Dotted(), {"inner": line})):
        schema.dump(obj)
        assert schema.__dict__["_isoflow_dump_plan"] is None
