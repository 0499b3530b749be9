"""The web pages of isoflow: server-rendered Jinja2 pages for the desk, the officers,
the chair, the ISO consultant and the citizen's public lookup, mounted at `/`.

Every page calls the engine's services (never SQL); engine errors become flash
messages in the page's language, with field messages next to their inputs. The REST
API stays under `/api`. Vietnamese is the default language; English is a catalogue
(`translations/en/LC_MESSAGES/messages.po`), chosen per session.
"""
from __future__ import annotations

import logging

from flask import Flask, flash, redirect, request, url_for
from flask_wtf.csrf import CSRFError, generate_csrf

from api.errors import from_http_exception, status_of, wants_problem_json
from engine.errors import IsoflowError, Unauthenticated

from api.web import common, diagrams
from api.web.common import bp
from api.web.i18n import LANGUAGES, current_language, init_babel, message_of

# page modules register their routes on `bp` when imported
from api.web import pages_auth, pages_desk, pages_work, pages_chair, pages_library, pages_public, pages_print  # noqa: E402,F401
from api.web import pages_quality  # noqa: E402,F401
from api.web import pages_feedback  # noqa: E402,F401
from api.web import pages_attachments  # noqa: E402,F401

__all__ = ["register"]

log = logging.getLogger("isoflow.web")


def register(app: Flask) -> None:
    """Mount the web pages on an application that already has the `IsoFlow` extension."""
    init_babel(app)
    app.register_blueprint(bp)
    app.register_error_handler(404, _page_not_found)
    env = app.jinja_env
    env.filters.update(instant=common.fmt_instant, day=common.fmt_day, role=common.role_name, period=common.period_name,
                       working_time=diagrams.working_time, field=diagrams.field_name)
    env.globals.update(csrf_token=generate_csrf, LANGUAGES=LANGUAGES, STATUS_LABELS=common.STATUS_LABELS,
                       URGENCY_LABELS=common.URGENCY_LABELS, RESULT_LABELS=common.RESULT_LABELS,
                       CHANNEL_LABELS=common.CHANNEL_LABELS, VERSION_STATUS_LABELS=common.VERSION_STATUS_LABELS,
                       OUTCOME_LABELS=common.OUTCOME_LABELS, END_LABELS=common.END_LABELS,
                       ATTACHMENT_KINDS=common.ATTACHMENT_KINDS, ATTACHMENT_LIMITS=common.attachment_limits,
                       diagram_assets_built=diagrams.diagram_assets_built, PROPERTY_LABELS=diagrams.PROPERTY_LABELS,
                       DIFF_LABELS=diagrams.DIFF_LABELS, property_value=diagrams.property_value,
                       print_number=pages_work.print_number)


@bp.app_context_processor
def _page_context():
    return {"me": common.me, "my_roles": common.my_roles, "lang": current_language, "now": lambda: common.rt().clock.now(),
            "nav": lambda: pages_auth.navigation()}


@bp.errorhandler(Unauthenticated)
def _login_first(error: Unauthenticated):
    if request.method == "GET":
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    flash(message_of(error), "error")
    return redirect(url_for("web.login"))


@bp.errorhandler(IsoflowError)
def _engine_error(error: IsoflowError):
    return common.render("error.html", status_of(error), error=error, message=message_of(error))


def _page_not_found(error):
    """Unknown addresses outside the API get a page in the user's language."""
    if wants_problem_json():
        return from_http_exception(error)
    from flask_babel import gettext as _

    return common.render("error.html", 404, error=None, message=_("Không tìm thấy trang này."))


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    """A bug must not show a traceback or JSON to a clerk: log it, say so in a page."""
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    from flask_babel import gettext as _

    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
    return common.render("error.html", 500, error=None, message=_("Lỗi hệ thống; sự cố đã được ghi lại."))


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    from flask_babel import gettext as _

    return common.render("error.html", 400, error=None,
                         message=_("Phiên biểu mẫu không hợp lệ hoặc đã hết hạn. Hãy tải lại trang và gửi lại."))
