"""The chair's dashboard: the commune's open steps by role (overdue, due today), the
overdue dossiers, and reassignment of a step to another holder of its role."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from api.web.common import page_unit, actor, bp, render, report, rt
from engine.errors import IsoflowError, NotFound
from engine.services import dossiers
from engine.views import dossiers as views, worklist
from engine.views import quality as quality_views

OVERDUE_LIST = 50


@bp.get("/dashboard")
def dashboard():
    who = actor()
    units = worklist.units_where(page_unit(), who, "task.view_queue")
    if not units:
        return render("error.html", 403, error=None, message=_("Bạn không có vai trò tại xã nào."))
    unit_code = request.args.get("unit") or units[0].code
    role = request.args.get("role") or None
    loads = worklist.queue_summary(page_unit(), who, unit_code)  # another commune's code answers NotFound
    unit = next((u for u in units if u.code == unit_code), None)
    queue = views.queue(page_unit(), who, unit_code=unit_code, role=role, limit=100)
    overdue, overdue_total = views.search_dossiers(page_unit(), who, views.DossierFilter(unit_code=unit_code,
                                                                                 overdue_only=True),
                                                   limit=OVERDUE_LIST)
    may_reassign = worklist.may_reassign(page_unit(), who, unit_code)
    holders = {}
    if may_reassign:
        for r in {t.role for t in queue}:
            holders[r] = worklist.role_holders(page_unit(), who, unit_code, r)
    return render("chair/dashboard.html", units=units, unit=unit, unit_code=unit_code, role=role, loads=loads,
                  queue=queue, overdue=overdue, overdue_total=overdue_total, may_reassign=may_reassign,
                  holders=holders, objectives=quality_views.objectives_panel(rt(), who, unit_code))


MAX_ID = 2**31 - 1


@bp.post("/tasks/<int:task_id>/reassign")
def reassign(task_id: int):
    back = request.form.get("back") or url_for("web.dashboard")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("web.dashboard")
    try:
        user_id = int(request.form.get("user_id", ""))
        if not 1 <= user_id <= MAX_ID:  # no user has such an id (and no database column holds it)
            raise ValueError(user_id)
    except ValueError:
        flash(_("Hãy chọn người nhận công việc."), "error")
        return redirect(back)
    try:
        dossiers.reassign(rt(), actor(), task_id, user_id, request.form.get("reason", "").strip())
    except NotFound:
        raise  # another commune's task: 404 like every page
    except IsoflowError as error:
        report(error)
    else:
        flash(_("Đã giao lại công việc."), "success")
    return redirect(back)
