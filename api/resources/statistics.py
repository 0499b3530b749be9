"""Measurement (ISO 9.1, docs/domain.md §7): counts and indicators 2.1 and 2.2 for a period."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime
from api.schemas import Day, Instant, Schema
from engine.views import statistics

blp = Blueprint("statistics", __name__, url_prefix="/api", description="Statistics and ISO indicators")


class StatisticsArgs(Schema):
    period = fields.String(required=True, validate=validate.Length(1, 16),
                           metadata={"description": "2026-03 (month), 2026-Q1, 2026-H1 or 2026-6M, 2026-9M, 2026 (year)"})
    group_by = fields.String(load_default="commune", validate=validate.OneOf(statistics.GROUPINGS))
    unit_code = fields.String(validate=validate.Length(1, 32), metadata={"description": "one commune only"})


class PeriodSchema(Schema):
    start = Day(required=True)
    end = Day(required=True, metadata={"description": "inclusive"})
    label = fields.String(required=True)
    kind = fields.String(required=True)


class RowSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    carried_over = fields.Integer(required=True)
    received_new = fields.Integer(required=True)
    received_by_channel = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                      metadata={"description": '{"1": in person, "2": online, "3": postal}'})
    received_total = fields.Integer(required=True)
    finished_early = fields.Integer(required=True)
    finished_on_time = fields.Integer(required=True)
    finished_late = fields.Integer(required=True)
    finished_total = fields.Integer(required=True)
    ended_without_result = fields.Integer(required=True)
    pending_within_limit = fields.Integer(required=True)
    pending_overdue = fields.Integer(required=True)
    pending_total = fields.Integer(required=True)
    indicator_2_1 = fields.Float(allow_none=True, metadata={"description": "% finished early or on time"})
    indicator_2_2_days = fields.Float(allow_none=True, metadata={"description": "average processing time, working days"})
    late_percent = fields.Float(allow_none=True)
    satisfaction_percent = fields.Float(allow_none=True)


class StatisticsReportSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    group_by = fields.String(required=True)
    unit_code = fields.String(allow_none=True)
    as_of = Instant(required=True)
    rows = fields.List(fields.Nested(RowSchema), required=True)
    total = fields.Nested(RowSchema, required=True)
    notes = fields.List(fields.String(), required=True)


@blp.get("/statistics")
@blp.arguments(StatisticsArgs, location="query", unknown=RAISE)
@blp.response(200, StatisticsReportSchema)
def report(args):
    """Received (carried over, new, by channel), finished early/on time/late, pending
    within limit/overdue, indicators 2.1 and 2.2, by commune, field, procedure or officer
    (chair, vice chair, province_admin)."""
    return statistics.compute_statistics(runtime(), current_actor(), period=args["period"],
                                         group_by=args["group_by"], unit_code=args.get("unit_code"))
