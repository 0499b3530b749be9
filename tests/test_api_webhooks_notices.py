"""Webhooks for integrators and notices to applicants: subscriptions per commune,
outbox rows written with the change, delivered by the sweep over real local servers
(HTTP on 127.0.0.1 for webhooks and the SMS gateway, SMTP for email), signed, retried
with backoff, exactly once; the commune's editable notice texts."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from engine.adapters.channels import ChannelSettings, verify_signature
from engine.adapters.db.models import OutboxMessage
from engine.scheduler.sweep import Sweeper
from tests.api_support import api, assert_problem  # noqa: F401
from tests.scheduler_support import SmtpSink, WebhookReceiver

RECEIVE = {"unit_code": "TRIPHU", "procedure_code": "9.000001",
           "applicant": {"name": "Nguyễn Văn An", "id_number": "008090001234", "phone": "0912345678",
                         "email": "an@example.vn"}, "channel": 2}


def drive_to_result(api, clients, code):
    """Complete every step with the approve outcome until the result is ready (status 9)."""
    for _ in range(10):
        dossier = clients["clerk"].get(f"/api/dossiers/{code}").json
        if dossier["status_code"] == 9:
            return
        [step] = dossier["open_tasks"]
        who = {"one_stop_clerk": "clerk", "justice_officer": "officer", "chair": "chair"}[step["role"]]
        c = clients[who]
        if step["assignee_id"] is None:
            c.post(f"/api/tasks/{step['id']}/claim")
        data = {"outcome": "approve"} if step["bpmn_id"] != "receive" else {}
        assert c.post(f"/api/tasks/{step['id']}/complete", json={"data": data}).status_code == 200


def test_subscriptions_are_a_communes_and_managed_by_its_chair(api):
    chair, admin, clerk, other = (api.token_client(n) for n in ("chair", "admin", "clerk", "nh_chair"))
    r = chair.post("/api/webhooks", json={"unit_code": "TRIPHU", "url": "https://mot-cua.example.vn/hook",
                                          "events": ["dossier.received"]})
    assert r.status_code == 201 and len(r.json["secret"]) > 30 and r.json["events"] == ["dossier.received"]
    sub_id = r.json["id"]
    listed = admin.get("/api/webhooks?unit_code=TRIPHU").json
    assert listed["page"]["total"] == 1 and listed["items"][0]["secret"] is None
    assert_problem(clerk.post("/api/webhooks", json={"unit_code": "TRIPHU", "url": "https://x.example/h"}), 403)
    assert_problem(other.get("/api/webhooks?unit_code=TRIPHU"), 404)
    assert_problem(other.delete(f"/api/webhooks/{sub_id}"), 404)
    assert_problem(chair.post("/api/webhooks", json={"unit_code": "TRIPHU", "url": "ftp://x/h"}), 422)
    assert_problem(chair.post("/api/webhooks", json={"unit_code": "TRIPHU", "url": "https://x.example/h",
                                                     "events": ["dossier.eaten"]}), 422)
    assert chair.delete(f"/api/webhooks/{sub_id}").status_code == 204
    assert admin.get("/api/webhooks?unit_code=TRIPHU").json["items"] == []
    assert_problem(chair.delete(f"/api/webhooks/{sub_id}"), 404)


def test_events_are_delivered_signed_retried_and_once(api):
    clients = {n: api.token_client(n) for n in ("clerk", "officer", "chair")}
    with WebhookReceiver(statuses=[500]) as receiver:
        secret = clients["chair"].post("/api/webhooks", json={"unit_code": "TRIPHU", "url": receiver.url}).json[
            "secret"]
        code = clients["clerk"].post("/api/dossiers", json=RECEIVE).json["code"]
        # another commune's dossier is not told to this subscription
        api.token_client("nh_clerk").post("/api/dossiers", json={**RECEIVE, "unit_code": "NAHANG"})
        drive_to_result(api, clients, code)
        assert clients["clerk"].post(f"/api/dossiers/{code}/return-result",
                                     json={"data": {"receiver": "Nguyễn Văn An"}}).status_code == 200
        sweeper = Sweeper(api.rt, channel_settings=ChannelSettings())
        first = sweeper.run_once()
        assert [d.ok for d in first.deliveries if d.channel == "webhook"] == [False]  # 500: held back
        assert len(receiver.requests) == 1
        api.rt.clock.advance(timedelta(minutes=1))
        sweeper.run_once()
        api.rt.clock.advance(timedelta(minutes=1))
        sweeper.run_once()  # nothing left: each event went once
    payloads = receiver.payloads()[1:]
    types = [p["type"] for p in payloads]
    assert types[0] == "dossier.received" and types[-1] == "result.returned"
    assert types.count("step.completed") == 4 and "status.changed" in types
    assert len({p["id"] for p in payloads}) == len(payloads) == len(receiver.requests) - 1
    assert all(p["dossier"]["code"] == code for p in payloads)
    changed = [p for p in payloads if p["type"] == "status.changed"]
    assert [(p["from_status_code"], p["dossier"]["status_code"]) for p in changed][-1] == (9, 10)
    assert payloads[0]["occurred_at"].endswith("Z") and payloads[0]["dossier"]["status_en"] == "Received"
    for headers, body in receiver.requests:
        assert verify_signature(secret, body, headers["X-Isoflow-Signature"])
    assert receiver.requests[0][0]["X-Isoflow-Delivery"] == receiver.requests[1][0]["X-Isoflow-Delivery"]
    with api.rt.db.session_factory() as s:
        states = dict(s.execute(select(OutboxMessage.state, func.count()).where(OutboxMessage.channel == "webhook")
                                .group_by(OutboxMessage.state)).all())
    assert states == {"sent": len(payloads)}


def test_notices_to_the_applicant_by_email_and_sms(api):
    clients = {n: api.token_client(n) for n in ("clerk", "officer", "chair")}
    chair = clients["chair"]
    templates = chair.get("/api/notice-templates?unit_code=TRIPHU").json
    assert {t["kind"] for t in templates["items"]} == {"result_ready", "supplementation_requested", "apology_issued"}
    assert "code" in templates["placeholders"] and not any(t["customised"] for t in templates["items"])
    r = chair.put("/api/notice-templates/TRIPHU/result_ready", json={
        "sms_text": "Xa Tri Phu: ho so {code} da co ket qua.", "email_subject": "Kết quả hồ sơ {code}",
        "email_body": "Kính gửi {applicant}: hồ sơ {code} đã có kết quả."})
    assert r.status_code == 200 and r.json["customised"] is True
    assert_problem(chair.put("/api/notice-templates/TRIPHU/result_ready", json={
        "sms_text": "{nope}", "email_subject": "x", "email_body": "{code"}), 422)
    assert_problem(clients["clerk"].put("/api/notice-templates/TRIPHU/result_ready", json={
        "sms_text": "a", "email_subject": "b", "email_body": "c"}), 403)
    assert_problem(api.token_client("nh_chair").get("/api/notice-templates?unit_code=TRIPHU"), 404)

    with WebhookReceiver(statuses=[503]) as gateway, SmtpSink() as smtp:
        settings = ChannelSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, sms_url=gateway.url,
                                   sms_key="gateway-key")
        code = clients["clerk"].post("/api/dossiers", json=RECEIVE).json["code"]
        receive_step = clients["clerk"].get(f"/api/dossiers/{code}").json["open_tasks"][0]
        clients["clerk"].post(f"/api/tasks/{receive_step['id']}/complete", json={"data": {}})
        appraise = clients["officer"].get(f"/api/dossiers/{code}").json["open_tasks"][0]
        clients["officer"].post(f"/api/tasks/{appraise['id']}/claim")
        r = clients["officer"].post(f"/api/tasks/{appraise['id']}/request-supplementation",
                                    json={"reason": "bản sao giấy khai sinh"})
        assert r.status_code == 200 and r.json["status_code"] == 5
        assert clients["clerk"].post(f"/api/dossiers/{code}/supplement", json={"data": {"documents": "Giấy khai sinh"}}).status_code == 200
        drive_to_result(api, clients, code)
        sweeper = Sweeper(api.rt, channel_settings=settings)
        sweeper.run_once()
        api.rt.clock.advance(timedelta(minutes=1))
        sweeper.run_once()
        sweeper.run_once()
        sms = [json.loads(body) for _, body in gateway.requests]
        headers = [h for h, _ in gateway.requests]
    assert [m["to"] for m in sms] == ["0912345678"] * 3  # the first try failed (503) and was retried once
    assert sms[0] == sms[1] and "bản sao giấy khai sinh" in sms[1]["text"]
    assert sms[2]["text"] == f"Xa Tri Phu: ho so {code} da co ket qua."
    assert all(h["Authorization"] == "Bearer gateway-key" for h in headers)
    subjects = [m["Subject"] for _, m in smtp.messages]
    assert subjects == [f"Hồ sơ {code} cần bổ sung", f"Kết quả hồ sơ {code}"]
    assert "bản sao giấy khai sinh" in smtp.messages[0][1].get_content()
    assert all(rcpt == ["an@example.vn"] for rcpt, _ in smtp.messages)


def test_apology_notice_and_an_ending_tell_status_once(api):
    from datetime import datetime
    clerk, chair = api.token_client("clerk"), api.token_client("chair")
    with WebhookReceiver() as receiver:
        chair.post("/api/webhooks", json={"unit_code": "TRIPHU", "url": receiver.url, "events": ["status.changed"]})
        code = clerk.post("/api/dossiers", json=RECEIVE).json["code"]
        due = datetime.fromisoformat(clerk.get(f"/api/dossiers/{code}").json["due_at"])
        new_due = (due + timedelta(days=3)).isoformat()
        assert clerk.post(f"/api/dossiers/{code}/apology",
                          json={"reason": "Chờ xác minh", "new_due_at": new_due}).status_code == 200
        assert chair.post(f"/api/dossiers/{code}/stop", json={"reason": "Công dân không bổ sung"}).status_code == 200
        Sweeper(api.rt, channel_settings=ChannelSettings()).run_once()
    assert [(p["from_status_code"], p["dossier"]["status_code"]) for p in receiver.payloads()] == [(2, 8)]
    with api.rt.db.session_factory() as s:
        notices = s.execute(select(OutboxMessage.event_type, OutboxMessage.channel, OutboxMessage.payload)
                            .where(OutboxMessage.channel != "webhook").order_by(OutboxMessage.id)).all()
    assert [(t, c) for t, c, _ in notices] == [("notice.apology_issued", "email"), ("notice.apology_issued", "sms")]
    assert "Chờ xác minh" in notices[0].payload["body"] and code in notices[1].payload["text"]
