"""The quality system through HTTP (api/resources/quality.py): the round trip of a
nonconformity, complaints, audits and reviews, and another commune's records as 404."""
from __future__ import annotations

from datetime import date

from engine.services import dossiers, quality, quality_audit, quality_review
from engine.services.dossiers import Applicant
from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import SYSTEM


def test_a_nonconformity_from_opening_to_closure_over_http(api):
    chair = api.token_client("chair")
    officer_id = api.world.actor("officer").user_id
    created = api.token_client("officer").post("/api/quality/nonconformities", json={
        "unit_code": "TRIPHU", "description": "Sổ theo dõi thiếu ngày trả"})
    assert created.status_code == 201, created.json
    nc = created.json["id"]
    action = chair.post(f"/api/quality/nonconformities/{nc}/actions",
                        json={"description": "In mẫu sổ mới", "owner_id": officer_id, "due_on": "2026-03-10"})
    assert action.status_code == 201, action.json
    assert chair.post(f"/api/quality/nonconformities/{nc}/analysis", json={"root_cause": "Mẫu cũ"}).json["state"] \
        == "action_planned"
    early = chair.post(f"/api/quality/nonconformities/{nc}/close")
    assert_problem(early, 409, "not_verified")
    done = api.token_client("officer").post(f"/api/quality/actions/{action.json['id']}/done", json={"note": "Xong"})
    assert done.status_code == 204
    assert chair.post(f"/api/quality/nonconformities/{nc}/verification",
                      json={"verification": "Đã kiểm tra", "effective": True}).json["state"] == "verifying"
    chair.post(f"/api/quality/nonconformities/{nc}/correction", json={"correction": "Bổ sung sổ"})
    assert chair.post(f"/api/quality/nonconformities/{nc}/close").json == {"id": nc, "state": "closed"}
    body = chair.get(f"/api/quality/nonconformities/{nc}").json
    assert body["state"] == "closed" and body["actions"][0]["state"] == "done" and body["effective"] is True
    listed = chair.get("/api/quality/nonconformities", query_string={"unit_code": "TRIPHU"}).json
    assert [n["id"] for n in listed] == [nc]
    bad = chair.post("/api/quality/nonconformities", json={"unit_code": "TRIPHU", "description": ""})
    assert bad.status_code == 422


def test_another_communes_quality_records_are_404(api):
    receipt = dossiers.receive(api.rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001",
                               applicant=Applicant("Lò Văn Pa"))
    complaint = quality.record_complaint(api.rt, SYSTEM, dossier_code=receipt.code, complainant="A", content="B")
    programme = quality_audit.create_programme(api.rt, SYSTEM, unit_code="TRIPHU", year=2026)
    audit = quality_audit.plan_audit(api.rt, SYSTEM, programme_id=programme, procedure_code="9.000001",
                                     auditor_id=api.world.actor("consultant").user_id, planned_on=date(2026, 4, 1),
                                     period_start=date(2026, 1, 1), period_end=date(2026, 3, 31))
    review = quality_review.create_review(api.rt, SYSTEM, unit_code="TRIPHU", period="2026-Q1",
                                          held_on=date(2026, 4, 2), chaired_by="Chủ tịch")
    risk = quality.add_risk(api.rt, SYSTEM, unit_code="TRIPHU", kind="risk", description="x", likelihood=2, impact=2)
    other = api.token_client("nh_chair")
    for path in (f"/api/quality/nonconformities/{complaint.nonconformity_id}", f"/api/quality/audits/{audit}",
                 f"/api/quality/audit-programmes/{programme}", f"/api/quality/reviews/{review}",
                 f"/api/quality/reviews/{review}/pack.pdf", f"/api/quality/audits/{audit}/report.pdf"):
        assert_problem(other.get(path), 404, "not_found")
    for path, body in ((f"/api/quality/complaints/{complaint.id}/answer", {"answer": "x"}),
                       (f"/api/quality/risks/{risk}/review", {"likelihood": 1, "impact": 1, "note": "x"}),
                       (f"/api/quality/reviews/{review}/decisions", {"text": "x"}),
                       (f"/api/quality/nonconformities/{complaint.nonconformity_id}/correction", {"correction": "x"})):
        assert_problem(other.post(path, json=body), 404, "not_found")
    for path in ("/api/quality/nonconformities", "/api/quality/complaints", "/api/quality/risks",
                 "/api/quality/reviews", "/api/quality/audit-programmes", "/api/quality/actions"):
        assert_problem(other.get(path, query_string={"unit_code": "TRIPHU"}), 404, "not_found")
    assert other.get("/api/quality/nonconformities", query_string={"unit_code": "NAHANG"}).json == []
    mine = api.token_client("chair")
    assert mine.get(f"/api/quality/reviews/{review}").status_code == 200
    pdf = mine.get(f"/api/quality/reviews/{review}/pack.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    assert_problem(api.token_client("clerk").post("/api/quality/risks", json={
        "unit_code": "TRIPHU", "kind": "risk", "description": "x", "likelihood": 1, "impact": 1}), 403,
        "permission_denied")


def test_complaint_audit_and_review_round_trip(api):
    receipt = dossiers.receive(api.rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001",
                               applicant=Applicant("Lò Văn Pa"))
    clerk, consultant, chair = (api.token_client(u) for u in ("clerk", "consultant", "chair"))
    recorded = clerk.post("/api/quality/complaints", json={"dossier_code": receipt.code, "complainant": "Lò Văn Pa",
                                                          "content": "Chờ lâu"})
    assert recorded.status_code == 201 and recorded.json["nonconformity_id"]
    assert chair.post(f"/api/quality/complaints/{recorded.json['id']}/answer", json={"answer": "Đã xử lý"}).status_code == 204
    assert clerk.get("/api/quality/complaints", query_string={"unit_code": "TRIPHU"}).json[0]["answer"] == "Đã xử lý"
    programme = consultant.post("/api/quality/audit-programmes", json={"unit_code": "TRIPHU", "year": 2026}).json["id"]
    refused = consultant.post(f"/api/quality/audit-programmes/{programme}/audits", json={
        "procedure_code": "9.000001", "auditor_id": api.world.actor("chair").user_id, "planned_on": "2026-03-20",
        "period_start": "2026-03-01", "period_end": "2026-03-31"})
    assert_problem(refused, 409, "auditor_not_independent")
    audit = consultant.post(f"/api/quality/audit-programmes/{programme}/audits", json={
        "procedure_code": "9.000001", "auditor_id": api.world.actor("consultant").user_id,
        "planned_on": "2026-03-20", "period_start": "2026-03-01", "period_end": "2026-03-31"}).json["id"]
    assert consultant.post(f"/api/quality/audits/{audit}/generate", json={"seed": 5}).json["state"] == "in_progress"
    found = consultant.post(f"/api/quality/audits/{audit}/findings", json={
        "kind": "nonconformity", "text": "Thiếu chữ ký", "step": "sign", "dossier_code": receipt.code})
    assert found.status_code == 201 and found.json["nonconformity_id"]
    body = consultant.get(f"/api/quality/audits/{audit}").json
    assert [d["code"] for d in body["sample"]] == [receipt.code] and body["sample_seed"] == 5
    assert body["findings"][0]["nonconformity_id"] == found.json["nonconformity_id"]
    quality.set_objective(api.rt, SYSTEM, unit_code="TRIPHU", year=2026, title="Đúng hạn", measure="on_time_percent",
                          target=98)
    measured = chair.get("/api/quality/objectives", query_string={"unit_code": "TRIPHU", "period": "2026-Q1"}).json
    assert measured[0]["verdict"] == "no_data" and measured[0]["value"] is None  # nothing finished yet
    review = chair.post("/api/quality/reviews", json={"unit_code": "TRIPHU", "period": "2026-Q1",
                                                      "held_on": "2026-04-02", "chaired_by": "Chủ tịch"}).json["id"]
    assert chair.post(f"/api/quality/reviews/{review}/actions", json={
        "description": "Tập huấn", "owner_id": api.world.actor("vice").user_id, "due_on": "2026-04-30"}).status_code == 201
    pack = chair.get(f"/api/quality/reviews/{review}").json
    assert pack["nonconformities_by_source"] == {"complaint": 1, "audit_finding": 1}
    assert pack["audits"][0]["findings"]["nonconformity"] == 1 and pack["actions"][0]["description"] == "Tập huấn"
