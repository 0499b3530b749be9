"""The in-app inbox of deadline notices written by the scheduler."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, fields

from api.auth import current_actor, runtime
from api.schemas import Instant, PageArgs, PageMeta, Schema, page_of
from engine.services import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications", description="Deadline notices")


class ListArgs(PageArgs):
    unread_only = fields.Boolean(load_default=False)


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    level = fields.String(required=True, metadata={"description": "remind | warn | overdue | apology_due"})
    kind = fields.String(required=True)
    title_vi = fields.String(required=True)
    title_en = fields.String(required=True)
    body_vi = fields.String(required=True)
    dossier_code = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    created_at = Instant(required=True)
    read_at = Instant(allow_none=True)


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    page = fields.Nested(PageMeta, required=True)


@blp.get("")
@blp.arguments(ListArgs, location="query", unknown=RAISE)
@blp.response(200, NotificationPageSchema)
def list_notifications(args):
    """My notices, newest first (each visible from the working instant it is delivered)."""
    items, total = notifications.list_notifications(runtime(), current_actor(), unread_only=args["unread_only"],
                                                    limit=args["limit"], offset=args["offset"], with_total=True)
    return page_of(items, args["limit"], args["offset"], total)


@blp.post("/<int(min=1, max=2147483647):notification_id>/read")
@blp.response(200, NotificationSchema)
def mark_read(notification_id: int):
    """Mark one of my notices read (idempotent)."""
    return notifications.mark_read(runtime(), current_actor(), notification_id)
