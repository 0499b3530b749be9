"""The in-app inbox of escalation notices (engine.scheduler writes them).

A notice becomes visible at its `deliver_after` instant (the next working instant
after it fired), like the email and webhook copies, so nobody is paged at night.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.audit import Actor
from engine.runtime import reading
from engine.adapters.db.models import Notification
from engine.errors import NotFound, Unauthenticated
from engine.domain.paging import check_page



@dataclass(frozen=True)
class NotificationView:
    id: int
    level: str  # remind | warn | overdue | apology_due
    kind: str  # task.remind | task.warn | task.overdue | dossier.apology_due
    title_vi: str
    title_en: str
    body_vi: str
    dossier_code: str | None
    task_id: int | None
    created_at: datetime
    read_at: datetime | None


def _view(n: Notification) -> NotificationView:
    return NotificationView(n.id, n.level, n.kind, n.title_vi, n.title_en, n.body_vi, n.dossier_code, n.task_id,
                            n.created_at, n.read_at)


def _user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthenticated("only a signed-in user has an inbox", "chỉ người dùng đã đăng nhập mới có hộp thư",
                              code="no_user")
    return actor.user_id


def list_notifications(rt, actor: Actor, *, unread_only: bool = False, limit: int = 50, offset: int = 0,
                       with_total: bool = False):
    """The actor's notices, newest first (and their number in all, `with_total`)."""
    check_page(limit, offset)
    user_id = _user_id(actor)
    with reading(rt, actor) as uow:  # a read: shares a page's unit when given one
        query = (select(Notification)
                 .where(Notification.recipient_id == user_id, Notification.deliver_after <= uow.now)
                 .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset))
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        items = [_view(n) for n in uow.session.scalars(query)]
        if not with_total:
            return items
        total = uow.session.scalar(select(func.count()).select_from(query.limit(None).offset(None).order_by(None)
                                                                    .subquery())) or 0
        return items, total


def mark_read(rt, actor: Actor, notification_id: int) -> NotificationView:
    """Mark one of the actor's notices read (idempotent). Others' notices answer NotFound."""
    user_id = _user_id(actor)
    with rt.unit_of_work(actor) as uow:
        n = uow.session.get(Notification, notification_id)
        if n is None or n.recipient_id != user_id or n.deliver_after > uow.now:
            raise NotFound(f"notification {notification_id} not found", f"không tìm thấy thông báo {notification_id}",
                           code="not_found")
        if n.read_at is None:
            n.read_at = uow.now
            uow.commit()
        return _view(n)
