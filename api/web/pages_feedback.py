"""Feedback the statistics count: the officer's reason for a late step (asked right
after completing it late), and the citizen's satisfaction rating, recorded at the desk
on a kiosk-friendly page when the result is returned, or by the citizen on the public
rating page with the dossier code and PIN."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.auth import source_address
from api.web.common import page_unit, FormErrors, actor, bp, render, report, rt
from engine.domain.feedback import LATENESS_REASONS, RATINGS
from engine.errors import IsoflowError, NotFound
from engine.services import lateness, satisfaction
from engine.views import dossiers as views, worklist


@bp.route("/tasks/<int:task_id>/lateness-reason", methods=["GET", "POST"])
def lateness_reason(task_id: int):
    who = actor()
    detail = worklist.task_detail(rt(), who, task_id)  # another commune's step: 404 like every page
    errors = FormErrors()
    values = {"reason": request.form.get("reason", ""), "detail": request.form.get("detail", "")}
    status = 200
    if request.method == "POST":
        try:
            lateness.record_lateness_reason(rt(), who, task_id, values["reason"], values["detail"])
        except NotFound:
            raise
        except IsoflowError as error:
            errors = report(error, {"reason", "detail"})
            status = 422 if error.problems else 409
        else:
            flash(_("Đã ghi lý do chậm muộn. Cảm ơn bạn."), "success")
            return redirect(url_for("web.inbox"))
    needed = lateness.reason_needed(rt(), who, task_id)
    return render("work/lateness_reason.html", status, task=detail.task, needed=needed, reasons=LATENESS_REASONS,
                  values=values, errors=errors)


@bp.route("/dossiers/<code>/rate", methods=["GET", "POST"])
def rate_at_desk(code: str):
    who = actor()
    dossier = views.dossier_view(rt(), who, code)
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        try:
            satisfaction.rate_at_desk(rt(), who, code, request.form.get("rating", ""), request.form.get("comment", ""))
        except NotFound:
            raise
        except IsoflowError as error:
            errors = report(error, {"rating", "comment"})
            status = 422 if error.problems else 409
        else:
            flash(_("Cảm ơn ông/bà đã đánh giá."), "success")
            return redirect(url_for("web.dossier", code=dossier.code))
    rated = satisfaction.rating_of(rt(), dossier.id)
    return render("desk/rate.html", status, dossier=dossier, rated=rated, ratings=RATINGS, errors=errors,
                  action=url_for("web.rate_at_desk", code=dossier.code), public=False)


@bp.route("/lookup/rate", methods=["GET", "POST"])
def rate_public():
    errors = FormErrors()
    code = request.values.get("code", "").strip()
    status = 200
    done = None
    if request.method == "POST":
        try:
            limiter = current_app.extensions["isoflow"].public_lookup_limiter  # the lookup's counters
            limiter.hit(f"address:{source_address()}", f"code:{code.upper()}")
            done = satisfaction.rate_by_citizen(rt(), code, request.form.get("pin", ""),
                                                request.form.get("rating", ""), request.form.get("comment", ""))
        except IsoflowError as error:
            errors = report(error, {"code", "pin", "rating", "comment"})
            status = {"too_many_attempts": 429, "lookup_failed": 404}.get(error.code, 422 if error.problems else 409)
        else:
            flash(_("Cảm ơn ông/bà đã đánh giá."), "success")
    return render("desk/rate.html", status, dossier=None, rated=done, ratings=RATINGS, errors=errors, code=code,
                  action=url_for("web.rate_public"), public=True)


# --- notifications: the bell in the header and the notices page ---------------------------

BELL_CAP = 99  # the bell shows "99+" beyond this


@bp.app_context_processor
def _bell():
    def unread_notices() -> int:
        from flask import g

        from api.auth import optional_actor
        from engine.services import notifications

        if "isoflow_unread" not in g:
            who = optional_actor()
            g.isoflow_unread = (len(notifications.list_notifications(page_unit(), who, unread_only=True, limit=BELL_CAP + 1))
                                if who is not None and who.user_id is not None else 0)
        return g.isoflow_unread
    return {"unread_notices": unread_notices, "BELL_CAP": BELL_CAP}


@bp.get("/notifications")
def notifications_page():
    from engine.services import notifications

    who = actor()
    notices = notifications.list_notifications(rt(), who, limit=100)
    assigned = [t for t in views.inbox(rt(), who, limit=100, include_pool=False) if t.assignee_id == who.user_id]
    return render("work/notifications.html", notices=notices, assigned=assigned)


@bp.post("/notifications/<int:notification_id>/read")
def notification_read(notification_id: int):
    from engine.services import notifications

    try:
        notifications.mark_read(rt(), actor(), notification_id)
    except NotFound:
        raise
    except IsoflowError as error:
        report(error)
    return redirect(url_for("web.notifications_page"))


@bp.post("/notifications/read-all")
def notifications_read_all():
    from engine.services import notifications

    who = actor()
    while batch := notifications.list_notifications(rt(), who, unread_only=True, limit=100):
        for notice in batch:
            notifications.mark_read(rt(), who, notice.id)
    flash(_("Đã đánh dấu tất cả thông báo là đã đọc."), "success")
    return redirect(url_for("web.notifications_page"))
