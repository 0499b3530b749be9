"""The web pages through the Flask test client: Vietnamese by default, English after
switching, forms with field messages, permissions (another commune is 404), CSRF."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Dossier, ProcedureVersion
from engine.views import dossiers as views
from tests.support import SIMPLE_MODEL
from tests.web_support import text, web  # noqa: F401  (fixture)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def dossier_count(rt) -> int:
    with rt.db.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Dossier))


def flashes(response) -> list[str]:
    return re.findall(r'class="flash flash-\w+">([^<]*)<', text(response))


# --- login, language, navigation ------------------------------------------------------


def test_login_page_is_vietnamese_by_default_and_english_after_switching(web):
    b = web.browser()
    page = text(b.get("/login"))
    assert '<html lang="vi">' in page and "Tên đăng nhập" in page and "Mật khẩu" in page
    b.language("en")
    page = text(b.get("/login"))
    assert '<html lang="en">' in page and "Username" in page and "Password" in page and "Tên đăng nhập" not in page


def test_language_survives_login_and_logout(web):
    b = web.browser()
    b.get("/login")
    b.language("en")
    assert b.post("/login", {"username": "clerk", "password": "secret-pass"}).status_code == 302
    assert "My work" in text(b.get("/inbox"))
    response = b.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "You have logged out." in text(b.get("/login"))
    assert b.get("/inbox").status_code == 302  # logged out


def test_anonymous_users_are_sent_to_login_and_back(web):
    b = web.browser()
    response = b.get("/inbox?page=1")
    assert response.status_code == 302 and "/login?next=/inbox?page%3D1" in response.headers["Location"]
    b.get("/login")
    response = b.post("/login", {"username": "clerk", "password": "secret-pass", "next": "/search"})
    assert response.headers["Location"] == "/search"
    # never redirected off-site
    other = web.browser()
    other.get("/login")
    response = other.post("/login", {"username": "clerk", "password": "secret-pass", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_wrong_password_and_missing_fields(web):
    b = web.browser()
    b.get("/login")
    response = b.post("/login", {"username": "clerk", "password": "nope"})
    assert response.status_code == 401 and "sai tên đăng nhập hoặc mật khẩu" in flashes(response)
    response = b.post("/login", {"username": "", "password": ""})
    assert response.status_code == 422
    page = text(response)
    assert 'class="field-error" id="err-username">Phải nhập tên đăng nhập.' in page
    assert 'id="err-password">Phải nhập mật khẩu.' in page


def test_login_without_csrf_token_is_rejected(web):
    b = web.browser()
    b.get("/login")
    response = b.post("/login", {"username": "clerk", "password": "secret-pass"}, csrf=False)
    assert response.status_code == 400 and "CSRF" not in flashes(response)
    assert "Phiên biểu mẫu không hợp lệ" in text(response)


def test_navigation_follows_roles_and_home_redirects(web):
    clerk = web.browser("clerk")
    nav = text(clerk.get("/inbox"))
    assert "Tiếp nhận hồ sơ" in nav and "Bảng điều khiển" not in nav and "Thư viện quy trình" not in nav
    assert clerk.get("/").headers["Location"] == "/inbox"
    consultant = web.browser("consultant")
    assert consultant.get("/").headers["Location"] == "/library"
    assert "Thư viện quy trình" in text(consultant.get("/library"))
    chair = text(web.browser("chair").get("/inbox"))
    assert "Bảng điều khiển" in chair and "Tiếp nhận hồ sơ" not in chair


# --- the desk ---------------------------------------------------------------------------


def test_receive_form_errors_are_shown_per_field_and_nothing_is_written(web):
    b = web.browser("clerk")
    page = text(b.get("/desk/receive"))  # first the procedure, then the rest of the form
    assert "9.000001 · Thủ tục thử nghiệm" in page and 'name="applicant_name"' not in page
    page = text(b.get("/desk/receive?unit=TRIPHU&procedure_code=9.000001"))
    assert 'name="applicant_name"' in page and 'value="9.000001"' in page
    response = b.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "9.000001", "applicant_name": " ",
                                        "channel": "1"})
    assert response.status_code == 422
    assert 'id="err-applicant_name">Phải nhập họ tên người nộp hồ sơ.' in text(response)
    assert "không thể tiếp nhận hồ sơ với thông tin đã nhập" in flashes(response)
    response = b.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "", "applicant_name": "An",
                                        "channel": "1"})
    assert response.status_code == 422 and 'id="err-procedure_code">Hãy chọn thủ tục hành chính.' in text(response)
    response = b.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "9.000001", "applicant_name": "An",
                                        "channel": "7"})
    assert response.status_code == 422 and 'id="err-channel">Kênh tiếp nhận phải là' in text(response)
    assert dossier_count(web.rt) == 0


def test_receive_shows_the_pin_once_and_links_the_slip(web):
    b = web.browser("clerk")
    response = b.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "9.000001", "applicant_name": "Lê Thị Hoa",
                                        "applicant_phone": "0912345678", "channel": "2"})
    assert response.status_code == 302
    code = response.headers["Location"].split("/")[2]
    page = text(b.get(response.headers["Location"]))
    pin = re.search(r'<span class="pin">(\d{6})</span>', page).group(1)
    assert code.startswith("TRIPHU-260303-") and "10:00 06/03/2026" in page  # P3D from Tue 10:00
    assert f'action="/dossiers/{code}/print/01"' in page and f'name="pin" value="{pin}"' in page
    again = text(b.get(f"/dossiers/{code}/receipt"))
    assert pin not in again and "không thể xem lại" in again
    slip = b.post(f"/dossiers/{code}/print/01", {"pin": pin})
    assert slip.status_code == 200 and slip.mimetype == "text/html" and pin in text(slip)
    assert slip.headers["Cache-Control"] == "no-store"
    assert pin not in text(b.get(f"/dossiers/{code}/print/01"))


def test_only_the_desk_receives(web):
    response = web.browser("officer").get("/desk/receive")
    assert response.status_code == 403 and "Chỉ công chức tiếp nhận" in text(response)


def test_supplement_and_return_at_the_desk(web):
    r = web.receive()
    web.step("clerk", r)
    web.step("officer", r, {"outcome": "supplement", "reason": "Thiếu bản sao giấy chứng sinh"})
    b = web.browser("clerk")
    listing = text(b.get("/desk/supplements"))
    assert r.code in listing and "Nhận hồ sơ bổ sung" in listing
    page = text(b.get(f"/dossiers/{r.code}/supplement"))
    assert "Giấy tờ đã bổ sung" in page and 'name="documents"' in page
    response = b.post(f"/dossiers/{r.code}/supplement", {"documents": ""})
    assert response.status_code == 422 and 'id="err-documents"' in text(response)
    web.rt.clock.advance(timedelta(days=1))  # the citizen comes back the next day
    response = b.post(f"/dossiers/{r.code}/supplement", {"documents": "Bản sao giấy chứng sinh"})
    assert response.status_code == 302
    assert views.dossier_view(web.rt, web.world.actor("clerk"), r.code).status_code == 4
    web.step("officer", r, {"outcome": "approve"})
    web.step("chair", r, {"outcome": "approve"})
    listing = text(b.get("/desk/returns"))
    assert r.code in listing
    page = text(b.get(f"/dossiers/{r.code}/return"))
    assert "Người nhận kết quả" in page
    response = b.post(f"/dossiers/{r.code}/return", {"receiver": "Nguyễn Văn An"})
    assert response.status_code == 302
    assert views.dossier_view(web.rt, web.world.actor("clerk"), r.code).status_code == 10
    assert r.code not in text(b.get("/desk/returns"))
    response = b.get(f"/dossiers/{r.code}/return")
    assert response.status_code == 302  # nothing left to return


# --- inbox and steps ---------------------------------------------------------------------


def test_inbox_is_sorted_by_due_with_urgency_colours_and_claim(web):
    first = web.receive("A")
    web.rt.clock.advance(timedelta(hours=1))
    second = web.receive("B")
    web.step("clerk", second)
    web.rt.clock.advance(timedelta(minutes=30))
    web.step("clerk", first)
    b = web.browser("officer")
    page = text(b.get("/inbox"))
    assert page.index(second.code) < page.index(first.code)
    assert page.count('class="row-due_soon"') == 2 or page.count('class="row-normal"') == 2
    web.rt.clock.set(at(2026, 3, 4, 15, 0))  # appraisal of `second` due Wed 12:30: overdue; `first` due 13:30... both
    page = text(b.get("/inbox"))
    assert 'class="row-overdue"' in page and "Quá hạn" in page
    task = web.task_of("officer", second)
    response = b.post(f"/tasks/{task.id}/claim")
    assert response.status_code == 302 and "Bạn đã nhận công việc." in flashes(b.get("/inbox"))
    assert web.task_of("officer", second).assignee_id == web.world.actor("officer").user_id
    b.language("en")
    page = text(b.get("/inbox"))
    assert "My work" in page and "Overdue" in page and "Officer" in page


def test_paused_and_due_today_colours(web):
    r = web.receive()
    page = text(web.browser("clerk").get("/inbox"))
    assert 'class="row-due_today"' in page  # the desk step takes 2 working hours
    web.step("clerk", r)
    web.step("officer", r, {"outcome": "supplement", "reason": "Thiếu giấy"})
    page = text(web.browser("clerk").get("/inbox"))
    assert 'class="row-paused"' in page and "Tạm dừng" in page


def test_task_page_renders_the_step_form_and_validates(web):
    r = web.receive()
    web.step("clerk", r)
    task = web.task_of("officer", r)
    b = web.browser("officer")
    page = text(b.get(f"/tasks/{task.id}"))
    assert "Thẩm định hồ sơ" in page
    assert '<legend>Kết quả thẩm định <span class="req">*</span></legend>' in page  # oneOf -> radios, required
    for value, title in [("approve", "Đủ điều kiện"), ("supplement", "Yêu cầu bổ sung"), ("refuse", "Không đủ điều kiện")]:
        assert re.search(rf'name="outcome" value="{value}"[^>]*> {title}', page)
    assert re.search(r'<textarea id="f-reason" name="reason" rows="4" maxlength="1000"\s*>', page)  # long text
    assert 'name="action" value="supplement"' in page  # the form offers the supplementation outcome
    response = b.post(f"/tasks/{task.id}", {"action": "complete", "opinion": "Hồ sơ đầy đủ"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="err-outcome">Trường &#39;outcome&#39;' in page or 'id="err-outcome">' in page
    assert "Hồ sơ đầy đủ" in page  # what was typed is kept
    assert web.task_of("officer", r).state == "open"
    response = b.post(f"/tasks/{task.id}", {"action": "complete", "outcome": "approve", "opinion": "Hồ sơ đầy đủ"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    sheet = views.timeline(web.rt, web.world.actor("chair"), r.code)
    assert [row.bpmn_id for row in sheet] == ["receive", "appraise", "sign"]
    assert text(b.get(f"/tasks/{task.id}")).count("disabled") > 0  # a finished step shows its data read-only


def test_supplement_action_asks_the_citizen(web):
    r = web.receive()
    web.step("clerk", r)
    task = web.task_of("officer", r)
    b = web.browser("officer")
    response = b.post(f"/tasks/{task.id}", {"action": "supplement", "reason": "Thiếu bản sao CCCD"})
    assert response.status_code == 302
    view = views.dossier_view(web.rt, web.world.actor("clerk"), r.code)
    assert view.status_code == 5 and view.supplement_count == 1


def test_step_form_field_types():
    from werkzeug.datastructures import MultiDict

    from api.web.schema_form import fields_of, parse

    schema = {"type": "object", "required": ["n", "day"], "properties": {
        "short": {"type": "string", "title": "Ngắn", "maxLength": 40},
        "long": {"type": "string", "title": "Dài", "maxLength": 2000}, "free": {"type": "string"},
        "n": {"type": "integer", "title": "Số"}, "x": {"type": "number"},
        "ok": {"type": "boolean", "title": "Đồng ý"},
        "day": {"type": "string", "format": "date", "title": "Ngày"},
        "kind": {"enum": ["a", "b"]}, "many": {"enum": list("abcdefgh")},
        "docs": {"type": "array", "items": {"type": "string"}},
    }}
    kinds = {f.name: (f.kind, f.required) for f in fields_of(schema)}
    assert kinds == {"short": ("text", False), "long": ("textarea", False), "free": ("text_free", False), "n": ("integer", True),
                     "x": ("number", False), "ok": ("boolean", False), "day": ("date", True),
                     "kind": ("radio", False), "many": ("select", False), "docs": ("lines", False)}
    data, problems = parse(schema, MultiDict({"n": "3", "x": "2,5", "ok": "on", "day": "2026-03-03", "short": " ",
                                              "docs": "CCCD\n\n Giấy khai sinh "}))
    assert data == {"n": 3, "x": 2.5, "ok": True, "day": "2026-03-03", "docs": ["CCCD", "Giấy khai sinh"]}
    assert problems == []
    data, problems = parse(schema, MultiDict({"n": "3.5", "x": "abc"}))
    assert [p.field for p in problems] == ["n", "x"] and data == {"ok": False}


def test_another_commune_is_not_found(web):
    r = web.receive()
    task = web.task_of("clerk", r)
    other = web.browser("nh_clerk")
    assert other.get(f"/dossiers/{r.code}").status_code == 404
    assert other.get(f"/tasks/{task.id}").status_code == 404
    assert other.post(f"/tasks/{task.id}", {"note": "x"}).status_code == 404
    assert other.post(f"/dossiers/{r.code}/withdraw", {"reason": "x"}).status_code == 404
    assert other.post(f"/tasks/{task.id}/claim").status_code == 404
    assert web.browser("nh_chair").post(f"/tasks/{task.id}/reassign", {"user_id": "1"}).status_code == 404
    assert other.get(f"/dossiers/{r.code}/print/06").status_code == 404
    assert other.get(f"/dossiers/{r.code}/supplement").status_code == 404
    assert web.browser("nh_chair").get("/dashboard?unit=TRIPHU").status_code == 404
    assert "Tìm thấy 0 hồ sơ." in text(other.get(f"/search?code={r.code}"))
    assert views.dossier_view(web.rt, web.world.actor("clerk"), r.code).state == "open"


def test_a_step_of_another_role_is_read_only(web):
    r = web.receive()
    task = web.task_of("clerk", r)
    b = web.browser("officer")
    page = text(b.get(f"/tasks/{task.id}"))
    assert "chỉ xem được" in page and 'name="action"' not in page
    response = b.post(f"/tasks/{task.id}", {"note": "x"})
    assert response.status_code == 422 and "bạn không giữ vai trò này" in " ".join(flashes(response))


# --- the dossier page --------------------------------------------------------------------


def test_dossier_page_shows_the_control_sheet_and_allowed_actions(web):
    r = web.receive()
    web.rt.clock.advance(timedelta(hours=1))
    web.step("clerk", r)
    web.rt.clock.set(at(2026, 3, 5, 9, 0))
    web.step("officer", r, {"outcome": "approve", "opinion": "Đủ điều kiện"})
    chair = web.browser("chair")
    page = text(chair.get(f"/dossiers/{r.code}"))
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in page
    assert 'class="r-row-on_time"' in page and 'class="r-row-late"' in page
    assert "Đúng hạn" in page and "Quá hạn" in page and "Đồng ý: Đủ điều kiện" in page
    assert "Từ chối giải quyết (mẫu 03)" in page and "Dừng xử lý" in page
    assert "Công dân rút hồ sơ</summary>" not in page  # withdrawal is the desk's
    assert "/print/06" in page and "/print/03" not in page and "/print/05" not in page
    clerk_page = text(web.browser("clerk").get(f"/dossiers/{r.code}"))
    assert "Công dân rút hồ sơ</summary>" in clerk_page and "Từ chối giải quyết (mẫu 03)" not in clerk_page
    officer_page = text(web.browser("officer").get(f"/dossiers/{r.code}"))
    assert "Thao tác" not in officer_page
    chair.language("en")
    page = text(chair.get(f"/dossiers/{r.code}"))
    assert "Process control sheet" in page and "On time" in page and "Refuse the dossier (form 03)" in page


def test_refuse_needs_a_reason_then_ends_the_dossier(web):
    r = web.receive()
    chair = web.browser("chair")
    chair.get(f"/dossiers/{r.code}")
    response = chair.post(f"/dossiers/{r.code}/refuse", {"reason": "  "})
    assert response.status_code == 422
    page = text(response)
    assert 'id="err-reason">Phải ghi lý do.' in page and "<details open>" in page
    assert views.dossier_view(web.rt, web.world.actor("chair"), r.code).result is None
    response = chair.post(f"/dossiers/{r.code}/refuse", {"reason": "Không thuộc thẩm quyền"})
    page = text(response)  # irreversible: a confirmation page first, nothing changed yet
    assert response.status_code == 200 and 'name="confirm" value="yes"' in page and "Không thuộc thẩm quyền" in page
    assert views.dossier_view(web.rt, web.world.actor("chair"), r.code).result is None
    response = chair.post(f"/dossiers/{r.code}/refuse", {"reason": "Không thuộc thẩm quyền", "confirm": "yes"})
    assert response.status_code == 302
    view = views.dossier_view(web.rt, web.world.actor("chair"), r.code)
    assert view.result == "refused" and view.status_code == 9
    page = text(chair.get(f"/dossiers/{r.code}"))
    assert "/print/03" in page and "Không thuộc thẩm quyền" in page
    assert r.code in text(web.browser("clerk").get("/desk/returns"))
    # the desk hands the letter over with the return-refusal form (bpmn/forms/common_return_refusal)
    clerk = web.browser("clerk")
    page = text(clerk.get(f"/dossiers/{r.code}/return"))
    assert 'name="reason"' in page and 'name="delivery"' in page
    assert clerk.post(f"/dossiers/{r.code}/return", {"reason": ""}).status_code == 422
    response = clerk.post(f"/dossiers/{r.code}/return", {"reason": "Không thuộc thẩm quyền", "delivery": "in_person"})
    assert response.status_code == 302
    assert views.dossier_view(web.rt, web.world.actor("chair"), r.code).status_code == 10


def test_withdraw_by_the_clerk_and_forbidden_for_the_officer(web):
    r = web.receive()
    officer = web.browser("officer")
    officer.get("/inbox")
    response = officer.post(f"/dossiers/{r.code}/withdraw", {"reason": "Công dân rút"})
    assert response.status_code == 403 and "vai trò của bạn không được phép" in " ".join(flashes(response))
    clerk = web.browser("clerk")
    clerk.get("/inbox")
    assert clerk.post(f"/dossiers/{r.code}/withdraw", {"reason": "Công dân xin rút"}).status_code == 200  # confirm
    assert clerk.post(f"/dossiers/{r.code}/withdraw", {"reason": "Công dân xin rút", "confirm": "yes"}).status_code == 302
    assert views.dossier_view(web.rt, web.world.actor("clerk"), r.code).status_code == 7


def test_apology_with_a_new_appointment(web):
    r = web.receive()
    web.rt.clock.set(at(2026, 3, 4, 16, 0))
    clerk = web.browser("clerk")
    clerk.get("/inbox")
    response = clerk.post(f"/dossiers/{r.code}/apology", {"reason": "Chờ xác minh", "new_due_date": "",
                                                         "new_due_time": "10:00"})
    assert response.status_code == 422 and 'id="err-new_due_date">Hãy nhập ngày và giờ hẹn mới.' in text(response)
    response = clerk.post(f"/dossiers/{r.code}/apology", {"reason": "Chờ xác minh", "new_due_date": "2026-03-05",
                                                         "new_due_time": "10:00"})
    assert response.status_code == 422 and 'id="err-new_due_date">Hẹn mới phải sau hẹn cũ.' in text(response)
    response = clerk.post(f"/dossiers/{r.code}/apology", {"reason": "Chờ xác minh", "new_due_date": "2026-03-15",
                                                         "new_due_time": "03:00"})  # a Sunday night
    assert response.status_code == 422
    assert 'id="err-new_due_date">Hẹn mới phải trong giờ làm việc; thời điểm làm việc gần nhất là 07:00 16/03/2026.' \
        in text(response)
    response = clerk.post(f"/dossiers/{r.code}/apology", {"reason": "Chờ kết quả xác minh",
                                                         "new_due_date": "2026-03-12", "new_due_time": "10:00"})
    assert response.status_code == 302
    page = text(clerk.get(f"/dossiers/{r.code}"))
    assert "10:00 12/03/2026" in page and "/print/04" in page and "Phiếu xin lỗi và hẹn lại (mẫu 04)" not in page


def test_print_forms(web):
    """The pages number the forms as Circular 03/2025/TT-VPCP does: 06 is the control sheet."""
    r = web.receive()
    b = web.browser("clerk")
    response = b.get(f"/dossiers/{r.code}/print/06")
    assert response.status_code == 200 and r.code in text(response)
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in text(response) and "Mẫu số 06" in text(response)
    pdf = b.get(f"/dossiers/{r.code}/print/06?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b.get(f"/dossiers/{r.code}/print/03").status_code == 409  # not refused: no refusal letter
    assert b.get(f"/dossiers/{r.code}/print/05").status_code == 409  # not stopped: no stop notice
    assert b.get(f"/dossiers/{r.code}/print/07").status_code == 404  # the register is printed per commune
    page = text(b.get(f"/dossiers/{r.code}"))
    assert "/print/01" in page and "/print/06" in page and "/print/05" not in page


def test_a_stopped_dossier_prints_its_stop_notice(web):
    r = web.receive()
    chair = web.browser("chair")
    assert chair.post(f"/dossiers/{r.code}/stop", {"reason": "Người yêu cầu đã chết", "confirm": "yes"}).status_code == 302
    page = text(chair.get(f"/dossiers/{r.code}"))
    assert "/print/05" in page and "Thông báo dừng giải quyết hồ sơ" in page
    notice = chair.get(f"/dossiers/{r.code}/print/05")
    assert notice.status_code == 200 and "Người yêu cầu đã chết" in text(notice)


# --- search ------------------------------------------------------------------------------


def test_search_filters_and_pages(web):
    codes = [web.receive(f"Người {i:02d}").code for i in range(27)]
    hoa = web.receive("Lê Thị Hoa").code
    b = web.browser("clerk")
    page = text(b.get("/search"))
    assert "Tìm thấy 28 hồ sơ." in page and "Trang 1 / 2" in page
    assert codes[0] in page and hoa not in page  # sorted by due instant
    page = text(b.get("/search?page=2"))
    assert hoa in page and codes[0] not in page
    page = text(b.get("/search?applicant=hoa"))
    assert "Tìm thấy 1 hồ sơ." in page and hoa in page
    page = text(b.get("/search?status=2&procedure=9.000001"))
    assert "Tìm thấy 28 hồ sơ." in page
    assert "Tìm thấy 0 hồ sơ." in text(b.get("/search?overdue=1"))
    web.rt.clock.set(at(2026, 3, 10, 9, 0))
    assert "Tìm thấy 28 hồ sơ." in text(b.get("/search?overdue=1"))
    response = b.get("/search?from=03/03/2026")
    assert response.status_code == 422 and 'id="err-from">Ngày không hợp lệ.' in text(response)
    assert "Tìm thấy 0 hồ sơ." in text(b.get("/search?from=2026-03-04"))
    b.language("en")
    assert "28 dossier(s) found." in text(b.get("/search"))


# --- the chair's dashboard ---------------------------------------------------------------


def test_dashboard_counts_overdue_and_reassigns(web):
    a = web.receive("A")
    b_receipt = web.receive("B")
    web.step("clerk", a)
    chair = web.browser("chair")
    page = text(chair.get("/dashboard"))
    assert "Bảng điều khiển · Xã Tri Phú" in page
    rows = re.findall(r"<tr>\s*<td><a href=\"/dashboard\?unit=TRIPHU&amp;role=(\w+)\">.*?</tr>", page, re.S)
    assert sorted(rows) == ["justice_officer", "one_stop_clerk"]
    web.rt.clock.set(at(2026, 3, 4, 9, 0))
    page = text(chair.get("/dashboard"))
    assert '<span class="badge u-overdue">1</span>' in page  # the desk step of B and the appraisal of A...
    assert "Hồ sơ quá hạn" in page
    task = web.task_of("clerk", b_receipt)
    response = chair.post(f"/tasks/{task.id}/reassign", {"user_id": str(web.world.actor("clerk2").user_id),
                                                         "back": "/dashboard"})
    assert response.status_code == 302 and "Đã giao lại công việc." in flashes(chair.get("/dashboard"))
    response = chair.post(f"/tasks/{task.id}/reassign", {"user_id": str(web.world.actor("officer").user_id)})
    assert "không giữ vai trò" in " ".join(flashes(chair.get("/dashboard")))
    clerk = web.browser("clerk")
    clerk.get("/inbox")
    assert clerk.post(f"/tasks/{task.id}/reassign", {"user_id": "1"}).status_code == 302
    assert "không được phép" in " ".join(flashes(clerk.get("/inbox")))
    assert web.browser("clerk").get("/dashboard").status_code == 200  # the desk sees its commune's queue
    chair.language("en")
    assert "Open tasks by role" in text(chair.get("/dashboard"))


# --- the procedure library -----------------------------------------------------------------


def test_library_upload_reports_every_problem(web):
    b = web.browser("consultant")
    page = text(b.get("/library"))
    assert "9.000001" in page and "Đang áp dụng" in page and "Tải lên mô hình BPMN" in page
    bad = SIMPLE_MODEL.read_bytes().replace(b'value="P3D"', b'value="three days"').replace(b'value="test_sign"', b'value="no_such_form"')
    import io
    response = b.post("/library/upload", {"model": (io.BytesIO(bad), "broken.bpmn"), "change_note": "thử"},
                      content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "Báo cáo kiểm tra: broken.bpmn có" in page and '<td class="mono">' in page
    assert "three days" in page and "no_such_form" in page
    with web.rt.db.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcedureVersion)) == 1  # nothing stored


def test_library_upload_report_collapses_a_cascade_and_gives_hints_in_the_page_language(web):
    import io

    b = web.browser("consultant")
    bad = SIMPLE_MODEL.read_bytes().replace(b'<bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="appraise"/>', b"")
    forms = {p.name: p.read_bytes() for p in (SIMPLE_MODEL.parent / "forms").glob("*.json")}
    files = [(io.BytesIO(content), name) for name, content in forms.items()]
    response = b.post("/library/upload", {"model": (io.BytesIO(bad), "gap.bpmn"), "forms": files, "change_note": "thử"},
                      content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "gap.bpmn có 1 lỗi" in page  # one root problem, not one row per unreachable node
    assert "Hệ quả:" in page and "Nối nó bằng một luồng trình tự" in page
    b.language("en")
    page = text(b.post("/library/upload", {"model": (io.BytesIO(bad), "gap.bpmn"), "forms": [
        (io.BytesIO(content), name) for name, content in forms.items()], "change_note": "x"},
        content_type="multipart/form-data"))
    assert "Consequences:" in page and "Connect it with a sequence flow" in page


def test_library_draft_approve_publish_retire(web):
    import io

    source = SIMPLE_MODEL.read_bytes().replace(b'value="P3D"', b'value="P4D"')
    forms = {p.name: p.read_bytes() for p in (SIMPLE_MODEL.parent / "forms").glob("*.json")}
    consultant = web.browser("consultant")
    consultant.get("/library/upload")
    response = consultant.post("/library/upload", {
        "model": (io.BytesIO(source), "simple-v2.bpmn"),
        "forms": [(io.BytesIO(body), name) for name, body in forms.items()], "change_note": "Thời hạn 4 ngày"},
        content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:3000]
    page = text(consultant.get("/library"))
    assert "Đã lưu bản nháp 9.000001 phiên bản 2; chờ phê duyệt." in page and "Bản nháp" in page
    with web.rt.db.session_factory() as s:
        version_id = s.scalar(select(ProcedureVersion.id).where(ProcedureVersion.version_no == 2))
    assert f"/library/versions/{version_id}/review" not in page  # the consultant cannot approve
    response = consultant.post(f"/library/versions/{version_id}/approve", {"confirm": "yes"})
    assert "không được phép" in " ".join(flashes(consultant.get("/library")))
    # a province-wide version is the province's: a commune chair gets no buttons, and a
    # forged request is refused
    commune_chair = web.browser("chair")
    assert f"/library/versions/{version_id}/review" not in text(commune_chair.get("/library"))
    commune_chair.post(f"/library/versions/{version_id}/approve", {"confirm": "yes"})
    assert "cấp tỉnh" in " ".join(flashes(commune_chair.get("/library")))
    chair = web.browser("admin")
    page = text(chair.get("/library"))
    assert f"/library/versions/{version_id}/review" in page and "Tải lên mô hình BPMN" not in page
    # approving without the review page's confirmation approves nothing: it leads to that page
    response = chair.post(f"/library/versions/{version_id}/approve")
    assert response.headers["Location"].endswith(f"/library/versions/{version_id}/review")
    assert "Bản nháp" in text(chair.get(f"/library/versions/{version_id}"))
    assert chair.post(f"/library/versions/{version_id}/approve", {"confirm": "yes"}).status_code == 302
    response = chair.post(f"/library/versions/{version_id}/publish", {"effective_from": ""})
    assert "ngày hiệu lực không hợp lệ" in " ".join(flashes(chair.get("/library")))
    chair.post(f"/library/versions/{version_id}/publish", {"effective_from": "2026-03-04"})
    assert "hiệu lực từ 04/03/2026" in " ".join(flashes(chair.get("/library")))
    response = chair.post(f"/library/versions/{version_id}/retire")
    assert response.headers["Location"].endswith(f"/library/versions/{version_id}/retire")  # asks first
    assert "Xác nhận bãi bỏ" in text(chair.get(response.headers["Location"]))
    chair.post(f"/library/versions/{version_id}/retire", {"confirm": "yes"})
    page = text(chair.get("/library"))
    assert "Đã bãi bỏ 9.000001 phiên bản 2." in page
    response = web.browser("clerk").get("/library/upload")
    assert response.status_code == 403
    chair.language("en")
    assert "Procedure library" in text(chair.get("/library"))


def test_library_local_version_of_one_commune(web):
    """The consultant uploads NAHANG's own version (a shorter limit); only NAHANG's chair
    (or the province) gets its buttons, and the library labels it."""
    import io

    source = SIMPLE_MODEL.read_bytes().replace(b'value="P5D"', b'value="P4D"')
    forms = lambda: [(io.BytesIO(p.read_bytes()), p.name) for p in (SIMPLE_MODEL.parent / "forms").glob("*.json")]  # noqa: E731
    consultant = web.browser("consultant")
    assert "Riêng Xã Na Hang" in text(consultant.get("/library/upload"))
    response = consultant.post("/library/upload", {"model": (io.BytesIO(source), "simple-nahang.bpmn"), "forms": forms(),
                                                   "scope_unit_code": "NAHANG", "change_note": "Rút thời hạn"},
                               content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:3000]
    with web.rt.db.session_factory() as s:
        version = s.scalar(select(ProcedureVersion).where(ProcedureVersion.version_no == 2))
        assert version.scope.code == "NAHANG"
        version_id = version.id
    assert f"/library/versions/{version_id}/review" not in text(web.browser("chair").get("/library"))
    nahang_chair = web.browser("nh_chair")
    page = text(nahang_chair.get("/library"))
    assert f"/library/versions/{version_id}/review" in page and "riêng NAHANG" in page
    assert "/library/versions/1/retire" not in page  # the province-wide version is not theirs
    assert nahang_chair.post(f"/library/versions/{version_id}/approve", {"confirm": "yes"}).status_code == 302
    longer = SIMPLE_MODEL.read_bytes().replace(b'value="P5D"', b'value="P9D"')
    response = consultant.post("/library/upload", {"model": (io.BytesIO(longer), "simple-long.bpmn"), "forms": forms(),
                                                   "scope_unit_code": "NAHANG"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "dài hơn thời hạn" in text(response)


# --- public lookup -------------------------------------------------------------------------


def test_public_lookup_without_personal_data(web):
    b = web.browser("clerk")
    response = b.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "9.000001",
                                        "applicant_name": "Lê Thị Hoa", "channel": "1"})
    code = response.headers["Location"].split("/")[2]
    pin = re.search(r'<span class="pin">(\d{6})</span>', text(b.get(response.headers["Location"]))).group(1)
    public = web.browser()
    assert "Tra cứu tình trạng hồ sơ" in text(public.get(f"/lookup?code={code}"))
    response = public.post("/lookup", {"code": code.lower(), "pin": pin})
    page = text(response)
    # the desk step was completed at receipt (one entry): the dossier is with the officer
    assert response.status_code == 200 and "Đang xử lý" in page and "10:00 06/03/2026" in page
    assert "Tiếp nhận, chuyển hồ sơ" in page and "Lê Thị Hoa" not in page and "Clerk" not in page
    wrong = public.post("/lookup", {"code": code, "pin": "000000" if pin != "000000" else "111111"})
    unknown = public.post("/lookup", {"code": "TRIPHU-000000-0000", "pin": pin})
    assert wrong.status_code == unknown.status_code == 404 and flashes(wrong) == flashes(unknown)
    response = public.post("/lookup", {"code": "", "pin": "12"})
    assert response.status_code == 422 and 'id="err-code"' in text(response) and 'id="err-pin"' in text(response)
    public.language("en")
    assert "Check the status of a dossier" in text(public.get("/lookup"))


def test_public_lookup_is_rate_limited(web):
    web.app.extensions["isoflow"].public_lookup_limiter.reset()
    public = web.browser()
    statuses = [public.post("/lookup", {"code": f"TRIPHU-260303-{i:04d}", "pin": "123456"}).status_code
                for i in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429


# --- CSRF on every POST --------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/logout", "/language", "/desk/receive", "/tasks/1/claim", "/tasks/1/unclaim", "/tasks/1", "/tasks/1/reassign",
    "/dossiers/X/refuse", "/dossiers/X/withdraw", "/dossiers/X/stop", "/dossiers/X/apology", "/dossiers/X/supplement",
    "/dossiers/X/return", "/library/upload", "/library/versions/1/approve", "/library/versions/1/publish",
    "/library/versions/1/retire", "/library/modeler", "/lookup", "/dossiers/X/print/01",
])
def test_every_post_needs_the_csrf_token(web, path):
    b = web.browser("chair")
    response = b.post(path, {"reason": "x"}, csrf=False)
    assert response.status_code == 400 and "Phiên biểu mẫu không hợp lệ" in text(response)


# --- the English catalogue -----------------------------------------------------------------


def test_the_english_catalogue_covers_every_message():
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    import api.web
    from api.web.i18n import po_path

    root = Path(api.web.__file__).parent
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "_lp": ((1, "c"), 2)}
    used = set()
    for _file, _line, message, _comments, context in extract_from_dir(str(root), method_map, keywords=keywords):
        used.add((context, message))
    with po_path("en").open("rb") as handle:
        catalog = read_po(handle)
    translated = {(m.context, m.id) for m in catalog if m.id and m.string}
    assert len(used) > 200
    assert sorted(used - translated, key=str) == []


# --- every page in both languages ----------------------------------------------------------


PAGES = [  # (user, path, Vietnamese text, English text)
    ("clerk", "/desk/receive", "Chọn thủ tục này", "Choose this procedure"),
    ("clerk", "/desk/receive?procedure_code=9.000001", "Tiếp nhận và in giấy hẹn", "Receive and print the slip"),
    ("clerk", "/desk/returns", "Không có hồ sơ chờ trả kết quả.", "No dossier is waiting to be returned."),
    ("clerk", "/desk/supplements", "Hồ sơ chờ công dân bổ sung", "Dossiers waiting for supplementation"),
    ("clerk", "/inbox", "Việc của tôi", "My work"),
    ("clerk", "/task", "Hoàn thành và chuyển tiếp", "Complete and hand over"),
    ("clerk", "/dossier", "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Process control sheet"),
    ("clerk", "/receipt", "Đã tiếp nhận hồ sơ", "Dossier received"),
    ("clerk", "/search", "Chỉ hồ sơ quá hạn", "Overdue only"),
    ("chair", "/dashboard", "Công việc đang mở theo vai trò", "Open tasks by role"),
    ("chair", "/statistics", "Trễ hạn theo lý do và theo bước", "Lateness by reason and by step"),
    (None, "/lookup/rate", "Đánh giá mức độ hài lòng", "Rate your satisfaction"),
    ("chair", "/library", "Thư viện quy trình", "Procedure library"),
    ("consultant", "/library/upload", "Kiểm tra và lưu bản nháp", "Validate and store as draft"),
    (None, "/lookup", "Tra cứu tình trạng hồ sơ", "Check the status of a dossier"),
    (None, "/login", "Tên đăng nhập", "Username"),
    ("clerk", "/no/such/page", "Không tìm thấy trang này.", "This page does not exist."),
]


@pytest.mark.parametrize("user, path, vi, en", PAGES, ids=[p[1] for p in PAGES])
def test_every_page_speaks_vietnamese_then_english(web, user, path, vi, en):
    r = web.receive()
    path = {"/task": f"/tasks/{web.task_of('clerk', r).id}", "/dossier": f"/dossiers/{r.code}",
            "/receipt": f"/dossiers/{r.code}/receipt"}.get(path, path)
    b = web.browser(user)
    response = b.get(path)
    assert response.status_code in (200, 404) and vi in text(response) and en not in text(response)
    b.language("en")
    response = b.get(path)
    assert en in text(response) and vi not in text(response)


def test_an_unexpected_error_is_a_page_not_a_traceback(web, monkeypatch):
    from engine.views import dossiers as views_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views_module, "inbox", broken)
    response = web.browser("clerk").get("/inbox")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Lỗi hệ thống; sự cố đã được ghi lại." in text(response) and "boom" not in text(response)


def test_receive_picker_finds_a_procedure_by_part_of_its_name_with_or_without_accents_or_its_code(web):
    from engine.services.procedures import publish_file
    from tests.support import SYSTEM

    root = Path(__file__).resolve().parent.parent / "bpmn"
    for name in ("1.000656-death-registration.bpmn", "1.000894-marriage-registration.bpmn"):
        publish_file(web.rt, SYSTEM, root / name, effective_from=date(2020, 1, 1))
    b = web.browser("clerk")

    def offered(query: str) -> list[str]:
        page = text(b.get("/desk/receive", query_string={"q": query}))
        return re.findall(r'<option value="([0-9.]+)"', page)

    assert offered("khai tử") == ["1.000656"]
    assert offered("KHAI TU") == ["1.000656"]  # without accents, any case
    assert offered("ket hon") == ["1.000894"]
    assert offered("000894") == ["1.000894"]  # part of the code
    assert set(offered("đăng ký")) >= {"1.000656", "1.000894"}
    assert offered("không có thủ tục này") == []
    page = text(b.get("/desk/receive", query_string={"q": "khai tu"}))
    assert re.search(r'<option value="1.000656"[^>]*selected', page)  # the only match is preselected
    assert 'data-search="1 000656 dang ky khai tu"' in page  # what the script narrows on as one types
    for hostile in ("khai\x00tu", "x" * 20_000, "%' OR 1=1 --", "<script>alert(1)</script>"):
        response = b.get("/desk/receive", query_string={"q": hostile})
        assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code  # never a 5xx
        assert "<script>alert(1)</script>" not in text(response)
