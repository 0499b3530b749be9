"""Officers' work: my inbox, a step's form, the dossier page with its process control
sheet and the actions the user may take, and the dossier search."""
from __future__ import annotations

from datetime import date, datetime, time

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from api.web import diagrams, schema_form
from api.web.common import page_unit, PAGE_SIZE, FormErrors, actor, bp, render, report, rt
from engine.adapters.documents.dossier_forms import DEFAULT_EDITION, FORM_EDITIONS, printable_forms
from engine.domain.calendar import VN_TZ
from engine.errors import IsoflowError, NotFound, Problem
from engine.services import dossiers, lateness
from engine.permissions import LEADERS
from engine.views import attachments as papers, diagrams as diagram_views, dossiers as views, worklist
from engine.domain.dossier import SUPPLEMENT_REASON_FIELDS, supplementation_reason
from engine.domain.lifecycle import Outcome

SUPPLEMENT_ACTION = "supplement"
SUPPLEMENT_REASON = "supplement_reason_text"  # the box for form 02 when the step's form has none of its own


def _supplement_field(schema) -> str:
    """The step form's own field for what to bring, or the page's box."""
    properties = (schema or {}).get("properties") or {}
    return next((name for name in SUPPLEMENT_REASON_FIELDS if name in properties), SUPPLEMENT_REASON)


@bp.get("/inbox")
def inbox():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    tasks = views.inbox(page_unit(), actor(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render("work/inbox.html", tasks=tasks[:PAGE_SIZE], page=page, has_next=len(tasks) > PAGE_SIZE)


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int):
    try:
        dossiers.claim(rt(), actor(), task_id)
    except NotFound:
        raise  # another commune's task: 404 like every page
    except IsoflowError as error:
        report(error)
    else:
        flash(_("Bạn đã nhận công việc."), "success")
    return redirect(request.form.get("back") == "task" and url_for("web.task", task_id=task_id)
                    or url_for("web.inbox"))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int):
    try:
        dossiers.unclaim(rt(), actor(), task_id)
    except NotFound:
        raise  # another commune's task: 404 like every page
    except IsoflowError as error:
        report(error)
    else:
        flash(_("Đã trả công việc về nhóm."), "success")
    return redirect(url_for("web.inbox"))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
def task(task_id: int):
    who = actor()
    detail = worklist.task_detail(page_unit(), who, task_id)
    fields = schema_form.fields_of(detail.schema)
    names = {f.name for f in fields}
    values = schema_form.display_values(detail.schema, detail.data)
    errors = FormErrors()
    if request.method == "POST":
        data, problems = schema_form.parse(detail.schema, request.form)
        values = schema_form.display_values(detail.schema, request.form)
        if request.form.get("action") == SUPPLEMENT_ACTION:
            if not detail.offers_supplement:
                problems.append(Problem("no_supplement", "Bước này không cho phép yêu cầu bổ sung.",
                                        "This step cannot ask for a supplementation.", field="outcome"))
            data["outcome"] = Outcome.SUPPLEMENT.value
            values["outcome"] = Outcome.SUPPLEMENT.value
        supplementing = data.get("outcome") == Outcome.SUPPLEMENT
        pause_reason = request.form.get(SUPPLEMENT_REASON, "").strip() or None
        values[SUPPLEMENT_REASON] = pause_reason or ""
        if supplementing and not pause_reason and not supplementation_reason(data):
            problems.append(Problem("reason_required", "Hãy ghi rõ công dân cần bổ sung giấy tờ, nội dung gì.",
                                    "Say which papers or details the citizen must bring.",
                                    field=_supplement_field(detail.schema)))
        if problems:
            for problem in problems:
                errors.add(problem, names | {SUPPLEMENT_REASON})
        else:
            try:
                outcome = dossiers.complete_task(rt(), who, task_id, data, pause_reason=pause_reason)
            except IsoflowError as error:
                errors = report(error, names)
            else:
                if data.get("outcome") == Outcome.SUPPLEMENT:
                    flash(_("Đã yêu cầu công dân bổ sung hồ sơ; thời hạn tạm dừng."), "success")
                else:
                    flash(_("Đã hoàn thành bước và chuyển hồ sơ %(code)s.", code=outcome.dossier_code), "success")
                if lateness.reason_needed(rt(), who, task_id):  # finished past its due instant: ask why
                    return redirect(url_for("web.lateness_reason", task_id=task_id))
                return redirect(url_for("web.inbox"))
        return _task_page(detail, fields, values, errors, 422)
    return _task_page(detail, fields, values, errors)


def _task_page(detail, fields, values, errors, status: int = 200):
    t = detail.task
    sees_papers = papers.may_see_attachments(page_unit(), actor(), t.dossier_id)
    files = papers.attachments_of(page_unit(), actor(), t.dossier_id, task_id=t.id) if sees_papers else []
    return render("work/task.html", status, detail=detail, fields=fields, values=values, errors=errors,
                  supplement_box=detail.offers_supplement and _supplement_field(detail.schema) == SUPPLEMENT_REASON,
                  outcome_rules=schema_form.required_by_outcome(detail.schema),
                  files=files, may_attach=sees_papers and detail.may_perform and t.state == "open",
                  result_allowed=t.role in LEADERS)


@bp.get("/dossiers/<code>")
def dossier(code: str):
    who = actor()
    view, sheet = views.dossier_page(page_unit(), who, code)
    return _dossier_page(view, who, sheet=sheet)


def _dossier_page(view, who, status: int = 200, errors: FormErrors | None = None, form_values: dict | None = None,
                  open_action: str | None = None, sheet=None):
    if sheet is None:
        sheet = views.timeline(page_unit(), who, view.id)
    actions = worklist.dossier_actions(page_unit(), who, view.id)
    performable = {t.id for t in view.open_tasks if views.can_perform(page_unit(), who, t)}
    drawn = diagram_views.dossier_diagram(page_unit(), who, view.id, view=view, sheet=sheet)
    diagram = diagrams.payload(drawn.source, diagrams.dossier_marks(drawn.marks, view.open_tasks))
    sees_papers = papers.may_see_attachments(page_unit(), who, view.id)
    files = papers.attachments_of(page_unit(), who, view.id) if sees_papers else None
    return render("work/dossier.html", status, dossier=view, sheet=sheet, actions=actions, performable=performable,
                  files=files,
                  diagram=diagram, diagram_version_id=drawn.version_id,
                  errors=errors or FormErrors(), form_values=form_values or {}, open_action=open_action,
                  print_forms=print_forms_of(view))


def print_forms_of(dossier) -> list[tuple[str, str]]:
    """(number, title) of the forms this dossier can print, in the edition in force."""
    return [(spec.number, _(spec.title)) for spec in printable_forms(dossier)]


def print_number(kind: str) -> str:
    """The printed number of a form kind in the edition in force (for links)."""
    return FORM_EDITIONS[DEFAULT_EDITION][kind].number


END_ACTIONS = {"refuse": dossiers.refuse, "withdraw": dossiers.withdraw, "stop": dossiers.stop}


@bp.post("/dossiers/<code>/<any(refuse, withdraw, stop):action>")
def end_dossier(code: str, action: str):
    who = actor()
    perform = END_ACTIONS[action]
    reason = request.form.get("reason", "")
    if request.form.get("confirm") != "yes" and reason.strip() \
            and f"dossier.{action}" in worklist.dossier_actions(page_unit(), who, code):
        # irreversible: a confirmation page first (works without JavaScript)
        view = views.dossier_view(page_unit(), who, code)
        return render("work/confirm_end.html", dossier=view, action=action, reason=reason.strip())
    try:
        perform(rt(), who, code, reason)
    except IsoflowError as error:
        errors = report(error, {"reason"})
        return _dossier_page(views.dossier_view(page_unit(), who, code), who, _status(error), errors,
                             {"reason": reason}, action)
    flash({"refuse": _("Đã từ chối giải quyết hồ sơ; hãy in phiếu từ chối và trả cho công dân."),
           "withdraw": _("Đã ghi nhận công dân rút hồ sơ."),
           "stop": _("Đã dừng xử lý hồ sơ.")}[action], "success")
    return redirect(url_for("web.dossier", code=code))


@bp.post("/dossiers/<code>/apology")
def apology(code: str):
    who = actor()
    reason = request.form.get("reason", "")
    day, clock = request.form.get("new_due_date", "").strip(), request.form.get("new_due_time", "").strip()
    values = {"reason": reason, "new_due_date": day, "new_due_time": clock}
    try:
        new_due = _local_instant(day, clock or "17:00")
        dossiers.issue_apology(rt(), who, code, reason, new_due)
    except IsoflowError as error:
        errors = report(error, {"reason", "new_due_at"})
        errors.fields["new_due_date"] = errors.fields.pop("new_due_at", [])
        return _dossier_page(views.dossier_view(page_unit(), who, code), who, _status(error), errors, values, "apology")
    flash(_("Đã lập phiếu xin lỗi và hẹn lại ngày trả kết quả."), "success")
    return redirect(url_for("web.dossier", code=code))


def _local_instant(day: str, clock: str) -> datetime:
    from engine.errors import InvalidInput

    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=VN_TZ)
    except ValueError:
        raise InvalidInput("the new appointment needs a date (YYYY-MM-DD) and a time (HH:MM)",
                           "hẹn mới cần có ngày và giờ hợp lệ", code="bad_new_due",
                           problems=[Problem("bad_new_due", "Hãy nhập ngày và giờ hẹn mới.",
                                             "Enter the date and time of the new appointment.",
                                             field="new_due_at")]) from None


def _status(error: IsoflowError) -> int:
    from api.errors import status_of

    return status_of(error)


@bp.get("/search")
def search():
    args = request.args
    problems: list[str] = []

    def day(name: str) -> date | None:
        text = args.get(name, "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            problems.append(name)
            return None

    status_text = args.get("status", "").strip()
    filters = views.DossierFilter(
        code=args.get("code", "").strip() or None, applicant=args.get("applicant", "").strip() or None,
        status_code=int(status_text) if status_text.isdigit() and len(status_text) <= 2 else None,  # codes 1-10
        procedure_code=args.get("procedure", "").strip() or None,
        received_from=day("from"), received_to=day("to"), overdue_only=bool(args.get("overdue")),
        sort="-received_at" if args.get("sort") == "recent" else "due_at",
    )
    page = max(args.get("page", 1, type=int) or 1, 1)
    errors = FormErrors()
    for name in problems:
        errors.fields[name] = [_("Ngày không hợp lệ.")]
    rows, total = views.search_dossiers(page_unit(), actor(), filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {k: v for k, v in args.items() if k != "page" and v}
    return render("work/search.html", 422 if errors else 200, rows=rows, total=total, page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), args=args, query=query, errors=errors,
                  procedures=worklist.receivable_procedures(page_unit()))
