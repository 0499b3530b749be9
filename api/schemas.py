"""Marshmallow schemas shared by the resources: errors, pagination, instants."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timezone
from typing import Any

import marshmallow
from marshmallow import ValidationError, fields, pre_load, validate
from marshmallow.decorators import POST_DUMP, PRE_DUMP

from engine.domain.calendar import VN_TZ
from engine.domain.text import nfc_deep
from engine.domain.paging import MAX_OFFSET, MAX_PAGE

MAX_PAGE_SIZE = MAX_PAGE  # the services' cap, so the schema and the engine agree
DEFAULT_PAGE_SIZE = 50


NUL_MESSAGE = "Must not contain NUL characters."


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of strings (keys included) holding U+0000, which no database text column accepts."""
    if isinstance(value, str):
        return [path or "_schema"] if "\x00" in value else []
    if isinstance(value, Mapping):
        found = []
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                found.append(child.replace("\x00", "\\0"))
            found.extend(nul_paths(item, child))
        return found
    if isinstance(value, (list, tuple)):
        return [p for i, item in enumerate(value) for p in nul_paths(item, f"{path}.{i}" if path else str(i))]
    return []


# Tests set this: every fast dump is compared with marshmallow's own (tests/conftest.py).
VERIFY_FAST_DUMP = False
_NO_PLAN = object()


class Schema(marshmallow.Schema):
    """Base of every isoflow schema: unknown fields are an error (marshmallow's default),
    no string anywhere in the input may contain NUL, and every string is read in NFC
    (query strings and forms are normalised earlier, by `api.edge`).

    Output goes through a plan built once per schema instance: each field's value is
    read from the object and given to the field's own `_serialize`, as marshmallow's
    `Field.serialize` does, without its per-field accessor calls (half the cost of a page
    of 50 steps). Schemas with dump hooks, dotted attributes or fields that serialize in
    their own way keep marshmallow's path; the test suite compares the two on every
    response (`VERIFY_FAST_DUMP`)."""

    @pre_load
    def _reject_nul_and_normalise(self, data, **kwargs):
        paths = nul_paths(data)
        if paths:
            raise ValidationError({path: [NUL_MESSAGE] for path in paths})
        return nfc_deep(data) if isinstance(data, (dict, list)) else data

    def dump(self, obj: Any, *, many: bool | None = None):
        plan = self.__dict__.get("_isoflow_dump_plan", _NO_PLAN)
        if plan is _NO_PLAN:
            plan = self._isoflow_dump_plan = self._dump_plan()
        if plan is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else bool(many)
        result = [_dump_one(o, plan) for o in obj] if many and obj is not None else _dump_one(obj, plan)
        if VERIFY_FAST_DUMP:
            expected = super().dump(obj, many=many)
            assert result == expected, (type(self).__name__, result, expected)
        return result

    def _dump_plan(self) -> tuple | None:
        """(output key, attribute, field name, field, reads the attribute) per dumped
        field; None where marshmallow's own path must run."""
        if self._hooks[PRE_DUMP] or self._hooks[POST_DUMP]:
            return None
        if type(self).get_attribute is not marshmallow.Schema.get_attribute:
            return None
        plan = []
        for name, field in self.dump_fields.items():
            attribute = name if field.attribute is None else field.attribute
            if type(field).serialize is not fields.Field.serialize or "." in attribute:
                return None
            key = field.data_key if field.data_key is not None else name
            plan.append((key, attribute, name, field, field._CHECK_ATTRIBUTE))
        return tuple(plan)


def _dump_one(obj: Any, plan: tuple) -> dict[str, Any]:
    """One object by a `Schema._dump_plan`: marshmallow's `Field.serialize` and
    `utils.get_value`, step for step, for undotted attributes."""
    out: dict[str, Any] = {}
    by_key = hasattr(obj, "__getitem__")
    for key, attribute, name, field, reads in plan:
        if reads:
            if by_key:
                try:
                    value = obj[attribute]
                except (KeyError, IndexError, TypeError, AttributeError):
                    value = getattr(obj, attribute, marshmallow.missing)
            else:
                value = getattr(obj, attribute, marshmallow.missing)
            if value is marshmallow.missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is marshmallow.missing:
                    continue
        else:
            value = None
        value = field._serialize(value, name, obj)
        if value is not marshmallow.missing:
            out[key] = value
    return out


class ProblemItemSchema(Schema):
    code = fields.String(required=True)
    message_vi = fields.String(required=True)
    message_en = fields.String(required=True)
    hint = fields.String(metadata={"description": "how to fix it (English)"})
    hint_en = fields.String(metadata={"description": "the hint in English (same as hint); model validation only"})
    hint_vi = fields.String(metadata={"description": "the hint in Vietnamese; model validation only"})
    consequences = fields.List(
        fields.Nested(lambda: ProblemItemSchema()),
        metadata={"description": "problems that follow from this one alone (e.g. the nodes a missing flow "
                                 "leaves unreachable); model validation only"})
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


MIN_YEAR, MAX_YEAR = 1990, 2199  # the span the working calendar counts in
_YEAR_MESSAGE = f"Must be within the years {MIN_YEAR}-{MAX_YEAR}."


def _in_years(value) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:  # judged on the written year, before any time zone arithmetic
        raise ValidationError(_YEAR_MESSAGE)


class UtcInstant(fields.AwareDateTime):
    """Answers every instant in UTC with `Z` (2026-03-03T02:00:00Z), whatever the offset it
    was stored or computed with; reads any ISO 8601 offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def Instant(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 instant; a time without offset is read in Asia/Ho_Chi_Minh. Input
    outside the calendar's years is refused. Answered in UTC with `Z`."""
    return UtcInstant(default_timezone=VN_TZ, validate=_in_years, **kwargs)


def Day(**kwargs) -> fields.Date:
    """An ISO 8601 date within the calendar's years."""
    return fields.Date(validate=_in_years, **kwargs)


class PageArgs(Schema):
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(1, MAX_PAGE_SIZE),
                           metadata={"description": f"page size, at most {MAX_PAGE_SIZE}"})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))


class PageMeta(Schema):
    """The one paging block of every list:
    `{"items": [...], "page": {limit, offset, total, total_exact}}`."""

    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "number of matching items in all, or at least "
                                                                   "this many when `total_exact` is false"})
    total_exact = fields.Boolean(required=True, metadata={
        "description": "false when the list counts only up to `total` (the inbox counts up to 1,000 steps)"})


def page_of(items, limit: int, offset: int, total: int, *, exact: bool = True) -> dict[str, Any]:
    return {"items": items, "page": {"limit": limit, "offset": offset, "total": total, "total_exact": exact}}


def whole_list(items) -> dict[str, Any]:
    """A list answered whole (short by nature: a dossier's hand-overs, a year's calendar
    days) in the shape of a page."""
    items = list(items)
    return page_of(items, len(items), 0, len(items))


def PageOf(item_schema: type[marshmallow.Schema], name: str) -> type[marshmallow.Schema]:
    """The page schema of a list of `item_schema`."""
    return type(name, (Schema,), {"items": fields.List(fields.Nested(item_schema), required=True),
                                  "page": fields.Nested(PageMeta, required=True)})
