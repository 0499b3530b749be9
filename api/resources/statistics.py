"""Measurement (ISO 9.1, docs/domain.md §7): counts and indicators 2.1 and 2.2 for a period."""
from __future__ import annotations

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from api.auth import current_actor, runtime, source_address
from api.schemas import Day, Instant, Schema
from engine.domain.feedback import LATENESS_REASONS, RATINGS
from engine.services import lateness, satisfaction
from engine.views import statistics
from engine.views.statistics_workbook import MEDIA_TYPE, build_workbook

blp = Blueprint("statistics", __name__, url_prefix="/api", description="Statistics and ISO indicators")


class StatisticsArgs(Schema):
    period = fields.String(required=True, validate=validate.Length(1, 24),
                           metadata={"description": "2026-03 (month), 2026-Q1, 2026-H1 or 2026-6M, 2026-9M, 2026 (year), "
                                                    "2026-03-05..2026-04-10 (custom range, both days included)"})
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
    received_digitised = fields.Integer(required=True, metadata={
        "description": "of the new ones, dossiers with papers taken in (scanned) at the desk on receipt; "
                       "for the officer grouping, new steps of such dossiers"})
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
    ratings_total = fields.Integer(required=True, metadata={"description": "citizen ratings given in the period"})
    ratings_satisfied = fields.Integer(required=True, metadata={"description": "of which very satisfied or satisfied"})
    satisfaction_percent = fields.Float(allow_none=True, metadata={"description": "satisfied / rated"})
    digitised_percent = fields.Float(allow_none=True, metadata={
        "description": "received_digitised / received_new: Decision 766/QĐ-TTg's share of digitised dossiers "
                       "(docs/statistics.md)"})


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


class WorkbookArgs(Schema):
    period = fields.String(required=True, validate=validate.Length(1, 24))
    unit_code = fields.String(validate=validate.Length(1, 32), metadata={"description": "one commune only"})


@blp.get("/statistics.xlsx")
@blp.arguments(WorkbookArgs, location="query", unknown=RAISE)
@blp.response(200, description="the periodic report workbook (docs/statistics.md, \"Excel report\")",
              content_type=MEDIA_TYPE)
def workbook(args):
    """The periodic report on the handling of procedures as an Excel workbook: a sheet per
    report (by field, procedure, commune, officer; indicators; reasons for lateness),
    Vietnamese headings, totals row (chair, vice chair, province_admin)."""
    data = build_workbook(runtime(), current_actor(), period=args["period"], unit_code=args.get("unit_code"))
    response = Response(data, mimetype=MEDIA_TYPE)
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in args["period"])
    response.headers["Content-Disposition"] = f'attachment; filename="bao-cao-tthc-{safe}.xlsx"'
    return response


class ItemsArgs(StatisticsArgs):
    key = fields.String(required=True, validate=validate.Length(1, 64),
                        metadata={"description": "the row's key (commune, field or procedure code, username), or total"})
    cell = fields.String(required=True, validate=validate.OneOf(statistics.CELLS))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000))


class CellItemSchema(Schema):
    dossier_code = fields.String(required=True)
    applicant_name = fields.String(required=True)
    unit_code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    channel = fields.Integer(required=True)
    received_at = Instant(required=True, metadata={"description": "the step's creation for the officer grouping"})
    due_at = Instant(allow_none=True)
    finished_at = Instant(allow_none=True)
    classification = fields.String(allow_none=True)
    step_name = fields.String(allow_none=True)


class ItemsSchema(Schema):
    total = fields.Integer(required=True, metadata={"description": "equals the figure in the report"})
    items = fields.List(fields.Nested(CellItemSchema), required=True)


@blp.get("/statistics/items")
@blp.arguments(ItemsArgs, location="query", unknown=RAISE)
@blp.response(200, ItemsSchema)
def items(args):
    """The dossiers (steps, for the officer grouping) counted in one figure of the report."""
    found, total = statistics.cell_items(runtime(), current_actor(), period=args["period"], group_by=args["group_by"],
                                         key=args["key"], cell=args["cell"], unit_code=args.get("unit_code"),
                                         limit=args["limit"], offset=args["offset"])
    return {"total": total, "items": found}


class LatenessReasonBody(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(list(LATENESS_REASONS)))
    detail = fields.String(load_default="", validate=validate.Length(0, 1000),
                           metadata={"description": "required for reason \"other\""})


class LatenessReasonSchema(Schema):
    task_id = fields.Integer(required=True)
    dossier_code = fields.String(required=True)
    step_name = fields.String(required=True)
    reason = fields.String(required=True)
    detail = fields.String(required=True)
    recorded_at = Instant(required=True)


@blp.post("/tasks/<int(min=1, max=2147483647):task_id>/lateness-reason")
@blp.arguments(LatenessReasonBody)
@blp.response(201, LatenessReasonSchema)
def lateness_reason(body, task_id: int):
    """The responsible officer's reason for a late step (one per step; 409 for a second)."""
    return lateness.record_lateness_reason(runtime(), current_actor(), task_id, body["reason"], body["detail"])


class RatingBody(Schema):
    rating = fields.String(required=True, validate=validate.OneOf(list(RATINGS)))
    comment = fields.String(load_default="", validate=validate.Length(0, 1000))


class PublicRatingBody(RatingBody):
    code = fields.String(required=True, validate=validate.Length(1, 40))
    pin = fields.String(required=True, validate=validate.Length(1, 12), load_only=True)


class RatingSchema(Schema):
    dossier_code = fields.String(required=True)
    rating = fields.String(required=True)
    comment = fields.String(required=True)
    via = fields.String(required=True, metadata={"description": "desk or public"})
    rated_at = Instant(required=True)


@blp.post("/dossiers/<string(maxlength=40):ref>/rating")
@blp.arguments(RatingBody)
@blp.response(201, RatingSchema)
def desk_rating(body, ref: str):
    """The citizen's satisfaction rating recorded at the desk by the clerk returning the
    result (one per dossier; 409 for a second)."""
    return satisfaction.rate_at_desk(runtime(), current_actor(), ref, body["rating"], body["comment"])


@blp.post("/public/rating")
@blp.arguments(PublicRatingBody)
@blp.response(201, RatingSchema)
@blp.doc(security=[])
def public_rating(body):
    """The citizen rates a finished dossier with its code and PIN (no login; rate limited
    like the lookup; one rating per dossier, 409 for a second)."""
    limiter = current_app.extensions["isoflow"].public_lookup_limiter
    limiter.hit(f"address:{source_address()}", f"code:{body['code'].strip().upper()}")
    return satisfaction.rate_by_citizen(runtime(), body["code"], body["pin"], body["rating"], body["comment"])


def setup(extension) -> None:
    extension.exempt_from_csrf(public_rating)  # the code and PIN authenticate it, like the lookup
