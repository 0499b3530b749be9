"""Attachments over HTTP: the API's multipart upload, list and download, and the pages'
upload and download; 404 for another commune and for the province."""
from __future__ import annotations

import io

import pytest

from engine.adapters.storage import FileSystemStorage
from engine.domain.calendar import VN_TZ
from tests.api_support import api, assert_problem  # noqa: F401
from tests.web_support import text, web  # noqa: F401

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture(autouse=True)
def _storage(request, tmp_path):
    for name in ("api", "web"):
        if name in request.fixturenames:
            request.getfixturevalue(name).rt.storage = FileSystemStorage(tmp_path / "files")


def test_the_statistics_api_counts_dossiers_digitised_at_receipt(api):
    clerk, chair, admin = api.token_client("clerk"), api.token_client("chair"), api.token_client("admin")
    body = {"unit_code": "TRIPHU", "procedure_code": "9.000001", "applicant": {"name": "An"}}
    scanned, _plain = (clerk.post("/api/dossiers", json=body).json["code"] for _ in range(2))
    clerk.post(f"/api/dossiers/{scanned}/attachments", content_type="multipart/form-data",
               data={"files": [(io.BytesIO(PDF), "cccd.pdf")], "at_receipt": "true"})
    month = api.world.rt.clock.now().astimezone(VN_TZ).strftime("%Y-%m")
    total = chair.get(f"/api/statistics?period={month}").json["total"]
    assert (total["received_digitised"], total["received_new"], total["digitised_percent"]) == (1, 2, 50.0)
    items = admin.get(f"/api/statistics/items?period={month}&key=total&cell=received_digitised").json
    assert items["total"] == 1 and [i["dossier_code"] for i in items["items"]] == [scanned]
    row = api.client().get("/api/openapi.json").json["components"]["schemas"]["Row"]["properties"]
    assert {"received_digitised", "digitised_percent"} <= set(row)


def test_the_api_uploads_lists_and_downloads(api):
    clerk = api.token_client("clerk")
    code = clerk.post("/api/dossiers", json={"unit_code": "TRIPHU", "procedure_code": "9.000001",
                                             "applicant": {"name": "An"}}).json["code"]
    response = clerk.post(f"/api/dossiers/{code}/attachments", content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(PDF), "Tờ khai.pdf"), (io.BytesIO(PNG), "ảnh.png")],
                                "at_receipt": "true"})
    assert response.status_code == 201, response.json
    assert [(a["filename"], a["content_type"], a["at_receipt"]) for a in response.json] == [
        ("Tờ khai.pdf", "application/pdf", True), ("ảnh.png", "image/png", True)]
    listed = clerk.get(f"/api/dossiers/{code}/attachments").json
    assert [a["id"] for a in listed] == [a["id"] for a in response.json]
    file = clerk.get(f"/api/dossiers/{code}/attachments/{listed[0]['id']}")
    assert file.status_code == 200 and file.data == PDF and file.mimetype == "application/pdf"
    assert file.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''T%E1%BB%9D%20khai.pdf" in file.headers["Content-Disposition"]
    bad = clerk.post(f"/api/dossiers/{code}/attachments", content_type="multipart/form-data",
                     data={"files": [(io.BytesIO(b"GIF89a..."), "scan.pdf")]})
    assert assert_problem(bad, 422, "bad_attachment")["problems"][0]["code"] == "file_type"
    for outsider in ("nh_clerk", "admin"):
        client = api.token_client(outsider)
        assert_problem(client.get(f"/api/dossiers/{code}/attachments"), 404)
        assert_problem(client.get(f"/api/dossiers/{code}/attachments/{listed[0]['id']}"), 404)
    spec = api.client().get("/api/openapi.json").json
    upload = spec["paths"]["/api/dossiers/{ref}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "/api/dossiers/{ref}/attachments/{attachment_id}" in spec["paths"]


def test_the_pages_upload_and_download(web):
    receipt = web.receive()
    clerk = web.browser("clerk")
    page = text(clerk.get(f"/dossiers/{receipt.code}"))
    assert 'id="attachments"' in page and 'enctype="multipart/form-data"' in page
    response = clerk.post(f"/dossiers/{receipt.code}/attachments", {"files": (io.BytesIO(PDF), "cccd.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    page = text(clerk.get(f"/dossiers/{receipt.code}"))
    assert "cccd.pdf" in page and "Đã đính kèm 1 tệp." in page
    [href] = set(__import__("re").findall(rf'href="(/dossiers/{receipt.code}/attachments/\d+)"', page))
    file = clerk.get(href)
    assert file.data == PDF and file.mimetype == "application/pdf" and "cccd.pdf" in file.headers["Content-Disposition"]
    clerk.post(f"/dossiers/{receipt.code}/attachments", {"files": (io.BytesIO(b"MZ..."), "virus.jpg")},
               content_type="multipart/form-data")
    page = text(clerk.get(f"/dossiers/{receipt.code}"))
    assert "virus.jpg" in page and "không phải PDF, JPEG hoặc PNG" in page
    assert web.browser("nh_clerk").get(href).status_code == 404
    admin = web.browser("admin")
    assert admin.get(href).status_code == 404
    assert "cccd.pdf" not in text(admin.get(f"/dossiers/{receipt.code}"))


def test_a_step_takes_its_own_files(web):
    receipt = web.receive()
    task = web.task_of("clerk", receipt)
    clerk = web.browser("clerk")
    page = text(clerk.get(f"/tasks/{task.id}"))
    assert 'name="task_id"' in page and 'value="result"' not in page  # the result belongs to the chair's step
    response = clerk.post(f"/dossiers/{receipt.code}/attachments",
                          {"files": (io.BytesIO(PNG), "anh.png"), "task_id": str(task.id), "back": "task"},
                          content_type="multipart/form-data")
    assert response.headers["Location"].endswith(f"/tasks/{task.id}#attachments")
    assert "anh.png" in text(clerk.get(f"/tasks/{task.id}"))
