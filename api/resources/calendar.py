"""The working calendar: public holidays, extra days off, make-up working days (audited)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Day, Instant, PageOf, Schema, whole_list
from engine.domain.calendar import OVERRIDE_KINDS
from engine.services import calendar_admin

blp = Blueprint("calendar", __name__, url_prefix="/api/calendar", description="Holidays and working-day overrides")


class YearArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(calendar_admin.MIN_YEAR, calendar_admin.MAX_YEAR))


class EntrySchema(Schema):
    day = Day(required=True)
    kind = fields.String(required=True, metadata={"description": "holiday | day_off | makeup_day | cancelled_holiday"})
    reason = fields.String(required=True)
    created_by = fields.String(allow_none=True)
    working = fields.Boolean(required=True, metadata={"description": "whether deadlines count the day as a working day"})
    source = fields.String(required=True, metadata={
        "description": "the holiday package and its version, or 'override' (an administrator's entry)"})


class OverrideSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(OVERRIDE_KINDS))
    day = Day(required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 500),
                           metadata={"description": "the decision or dispatch, e.g. 'Công văn 2450/VPCP-KGVX'"})


class OverrideChangeSchema(Schema):
    at = Instant(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    kind = fields.String(required=True)
    day = Day(required=True)
    reason = fields.String(required=True)
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)


@blp.get("")
@blp.arguments(YearArgs, location="query", unknown=RAISE)
@blp.response(200, PageOf(EntrySchema, "CalendarPage"))
def year(args):
    """Every day of one year that differs from Monday-Friday, as deadlines count it:
    holidays, swapped days off, the make-up working days worked in exchange, and the
    overrides (with who made them); the whole year in one page."""
    return whole_list(calendar_admin.year_calendar(runtime(), current_actor(), args["year"]))


@blp.post("/overrides")
@blp.arguments(OverrideSchema)
@blp.response(201, OverrideChangeSchema)
def add_override(body):
    """Add an extra day off, a make-up working day or a cancelled holiday (province_admin; audited)."""
    return calendar_admin.change(runtime(), current_actor(), "add", body["kind"], body["day"], body["reason"])


@blp.post("/overrides/remove")
@blp.arguments(OverrideSchema)
@blp.response(200, OverrideChangeSchema)
def remove_override(body):
    """Remove an override, saying why (province_admin; audited)."""
    return calendar_admin.change(runtime(), current_actor(), "remove", body["kind"], body["day"], body["reason"])
