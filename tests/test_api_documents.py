"""Printable documents over HTTP: dossier forms 01-06, ISO procedure documents, posting
sheet and register, as HTML and PDF, with their error paths."""
from __future__ import annotations

from tests.api_support import api, assert_problem  # noqa: F401

RECEIVE = {"unit_code": "TRIPHU", "procedure_code": "9.000001",
           "applicant": {"name": "Nguyễn Văn An", "id_number": "008090001234"}, "channel": 1}


def test_dossier_forms_as_html_and_pdf(api):
    clerk = api.token_client("clerk")
    code = clerk.post("/api/dossiers", json=RECEIVE).json["code"]
    slip = clerk.get(f"/api/dossiers/{code}/forms/01")
    assert slip.status_code == 200 and slip.content_type == "text/html; charset=utf-8"
    assert code in slip.get_data(as_text=True) and "Giấy tiếp nhận" in slip.get_data(as_text=True)
    pdf = clerk.get(f"/api/dossiers/{code}/forms/01?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    sheet = clerk.get(f"/api/dossiers/{code}/forms/06")  # the default edition is 03/2025/TT-VPCP
    assert sheet.status_code == 200 and "Phiếu kiểm soát" in sheet.get_data(as_text=True)
    assert_problem(clerk.get(f"/api/dossiers/{code}/forms/04"), 409)  # no apology issued
    assert_problem(clerk.get(f"/api/dossiers/{code}/forms/01?format=doc"), 422)
    assert_problem(clerk.get(f"/api/dossiers/{code}/forms/06?edition=01/2018/TT-VPCP"), 422)  # 01/2018 has no form 06
    assert clerk.get(f"/api/dossiers/{code}/forms/07").status_code == 404
    assert_problem(api.token_client("nh_clerk").get(f"/api/dossiers/{code}/forms/01"), 404)


def test_procedure_documents_posting_sheet_and_register(api):
    chair = api.token_client("chair")
    doc = chair.get("/api/procedures/9.000001/document")
    assert doc.status_code == 200 and "9.000001" in doc.get_data(as_text=True)
    assert chair.get("/api/procedure-versions/1/document?format=pdf").data.startswith(b"%PDF")
    assert_problem(chair.get("/api/procedures/0.000000/document"), 404)
    assert_problem(chair.get("/api/procedure-versions/999/document"), 404)
    assert chair.get("/api/org-units/TRIPHU/posting-sheet").status_code == 200
    register = chair.get("/api/org-units/TRIPHU/register?received_from=2026-03-01&received_to=2026-03-31")
    assert register.status_code == 200 and "Sổ theo dõi" in register.get_data(as_text=True)
    assert_problem(chair.get("/api/org-units/NAHANG/register?received_from=2026-03-01&received_to=2026-03-31"), 404)
    assert_problem(api.client().get("/api/procedures/9.000001/document"), 401)
