"""Login, logout, language switch, the home redirect and the navigation bar."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.auth import end_session, optional_actor, source_address, start_session
from api.web.common import bp, my_roles, render, report, rt
from api.web.i18n import LANGUAGES, SESSION_KEY, current_language
from engine.errors import IsoflowError
from engine.permissions import COMMUNE_STAFF, LEADERS, POLICY
from engine.services import auth as auth_service

# (endpoint, label, roles that see the link)
NAVIGATION = [
    ("web.receive", _l("Tiếp nhận hồ sơ"), POLICY["dossier.receive"]),
    ("web.returns", _l("Trả kết quả"), POLICY["dossier.return_result"]),
    ("web.inbox", _l("Việc của tôi"), COMMUNE_STAFF),
    ("web.dashboard", _l("Bảng điều khiển"), LEADERS),
    ("web.search", _l("Tra cứu hồ sơ"), POLICY["dossier.view"]),
    ("web.statistics_page", _l("Thống kê"), POLICY["stats.view"]),
    ("web.library", _l("Thư viện quy trình"), POLICY["procedure.author"] | POLICY["procedure.approve"]),
    ("web.quality_home", _l("Hệ thống chất lượng"), POLICY["quality.view"]),
]


def navigation() -> list[tuple[str, str, bool]]:
    roles = my_roles()
    current = request.endpoint
    return [(endpoint, str(label), endpoint == current) for endpoint, label, allowed in NAVIGATION if roles & allowed]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: never send a user to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def home():
    if optional_actor() is None:
        return redirect(url_for("web.login"))
    roles = my_roles()
    if roles & COMMUNE_STAFF:
        return redirect(url_for("web.inbox"))
    if roles & (POLICY["procedure.author"] | POLICY["procedure.approve"]):
        return redirect(url_for("web.library"))
    return redirect(url_for("web.search"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    errors = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            user = auth_service.login(rt(), username=username, password=request.form.get("password", ""),
                                      source_address=source_address(), via="session")
        except IsoflowError as error:
            errors = report(error, {"username", "password"})
            return render("login.html", 401 if error.code == "bad_credentials" else 422 if error.problems else 429,
                          errors=errors, username=username, next_url=next_url)
        language = current_language()
        start_session(user.user_id)
        session[SESSION_KEY] = language  # the chosen language survives the fresh session
        flash(_("Xin chào, %(name)s.", name=user.full_name), "info")
        return redirect(next_url or url_for("web.home"))
    return render("login.html", errors=errors, username=username, next_url=next_url)


@bp.post("/logout")
def logout():
    actor = optional_actor()
    if actor is not None:
        auth_service.log_logout(rt(), actor)
    language = current_language()
    end_session()
    session[SESSION_KEY] = language
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("web.login"))


@bp.post("/language")
def language():
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))
