"""Email and webhook delivery against real local servers; failures retry with backoff
and never block the sweep or lose the notice."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Delivery, Notification
from engine.runtime import Runtime
from engine.adapters.channels import ChannelSettings, verify_signature
from engine.scheduler.sweep import MAX_ATTEMPTS, Sweeper, backoff
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.scheduler_support import SmtpSink, WebhookReceiver, free_port, give_emails
from tests.support import build_world

SECRET = "s3cret-for-tests"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    world = build_world(Runtime(db, clock))
    give_emails(world.rt)
    return world


def receive(world):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant("Trần Thị Bình"))


def test_email_and_signed_webhook_are_delivered_once(world):
    rt, clock = world.rt, world.rt.clock
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        settings = ChannelSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="ubnd@xa.example.vn",
                                   webhook_url=hook.url, webhook_secret=SECRET, timeout_seconds=5)
        r = receive(world)
        clock.set(at(2026, 3, 3, 13, 35))  # the desk step (due 14:00) passed 75% at 11:30
        report = Sweeper(rt, channel_settings=settings).run_once()
        assert [f.level for f in report.fired] == ["remind"]
        assert sorted((d.channel, d.ok) for d in report.deliveries) == [("email", True), ("webhook", True)]
        for _ in range(2):  # nothing is sent twice
            clock.advance(timedelta(minutes=1))
            assert Sweeper(rt, channel_settings=settings).run_once().deliveries == []
    [(rcpts, message)] = smtp.messages
    assert rcpts == ["clerk@xa.example.vn"]
    assert message["From"] == "ubnd@xa.example.vn"
    assert r.code in message["Subject"] and "Nhắc việc" in message["Subject"]
    assert "Reminder" in message.get_content() and "75%" in message.get_content()
    [(headers, body)] = hook.requests
    assert verify_signature(SECRET, body, headers["X-Isoflow-Signature"])
    assert not verify_signature("another secret", body, headers["X-Isoflow-Signature"])
    [payload] = hook.payloads()
    assert (payload["level"], payload["dossier_code"], payload["recipients"]) == ("remind", r.code, ["clerk"])


def test_failing_webhook_retries_with_backoff_without_blocking_email(world):
    rt, clock = world.rt, world.rt.clock
    with SmtpSink() as smtp, WebhookReceiver(statuses=[500, 503]) as hook:
        settings = ChannelSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, webhook_url=hook.url,
                                   webhook_secret=SECRET, timeout_seconds=5)
        receive(world)
        clock.set(at(2026, 3, 3, 13, 35))
        report = Sweeper(rt, channel_settings=settings).run_once()
        assert sorted((d.channel, d.ok) for d in report.deliveries) == [("email", True), ("webhook", False)]
        assert len(smtp.messages) == 1
        with rt.db.session_factory() as s:
            hook_row = s.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
            assert (hook_row.state, hook_row.attempts) == ("pending", 1)
            assert hook_row.next_attempt_at == clock.now() + backoff(1)
            assert "500" in hook_row.last_error
        clock.advance(timedelta(seconds=10))  # before the backoff: not retried
        assert Sweeper(rt, channel_settings=settings).run_once().deliveries == []
        clock.advance(backoff(1))
        assert [d.ok for d in Sweeper(rt, channel_settings=settings).run_once().deliveries] == [False]  # 503
        clock.advance(backoff(2))
        assert [d.ok for d in Sweeper(rt, channel_settings=settings).run_once().deliveries] == [True]
        assert len(hook.requests) == 3 and len(smtp.messages) == 1
    assert backoff(1) < backoff(2) < backoff(3) and backoff(30) == timedelta(hours=1)


def test_unreachable_smtp_never_loses_the_notice(world):
    rt, clock = world.rt, world.rt.clock
    dead = ChannelSettings(smtp_host="127.0.0.1", smtp_port=free_port(), timeout_seconds=2)
    receive(world)
    clock.set(at(2026, 3, 3, 13, 35))
    report = Sweeper(rt, channel_settings=dead).run_once()
    assert [f.level for f in report.fired] == ["remind"]  # the sweep went on
    assert [d.ok for d in report.deliveries] == [False]
    with rt.db.session_factory() as s:
        assert s.scalar(select(Notification)).recipient_id == world.actor("clerk").user_id  # the inbox has it
        row = s.scalar(select(Delivery))
        row.attempts = MAX_ATTEMPTS - 1  # the last try
        s.commit()
    clock.advance(timedelta(hours=2))
    assert [d.ok for d in Sweeper(rt, channel_settings=dead).run_once().deliveries] == [False]
    with rt.db.session_factory() as s:
        failed = s.scalar(select(Delivery).order_by(Delivery.id))
        assert (failed.state, failed.address) == ("failed", "clerk@xa.example.vn")  # kept, with its error
    with SmtpSink() as smtp:  # a working server later: the failed delivery is not resent by itself
        live = ChannelSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)
        clock.advance(timedelta(hours=2))
        sent = Sweeper(rt, channel_settings=live).run_once().deliveries
    assert failed.id not in {d.delivery_id for d in sent} and all(d.ok for d in sent)
    assert len(smtp.messages) == len(sent) > 0  # the later levels (warn, overdue) went out
