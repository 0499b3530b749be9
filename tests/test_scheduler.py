"""Clock-driven scheduler tests on the real database (SQLite, or PostgreSQL in CI).

A dossier's life is replayed with a FixedClock and a sweep every 30 minutes; each
escalation must fire at its working instant, once, to the right people."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Dossier, Escalation, Event, Notification, Task, WorkflowState
from engine.errors import InvalidInput, NotFound
from engine.runtime import Runtime
from engine.adapters.channels import ChannelSettings
from engine.services.escalation_policies import set_policy
from engine.scheduler.sweep import Sweeper
from engine.services import dossiers, notifications
from engine.services.dossiers import Applicant
from tests.support import FIXTURES, SYSTEM, build_world

TIMER_MODEL = FIXTURES / "timer-procedure.bpmn"
NO_CHANNELS = ChannelSettings()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def local(t: datetime) -> str:
    return t.astimezone(VN_TZ).strftime("%a %m-%d %H:%M")


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world, unit="TRIPHU", clerk="clerk", procedure="9.000001"):
    return dossiers.receive(world.rt, world.actor(clerk), unit_code=unit, procedure_code=procedure,
                            applicant=Applicant("Nguyễn Văn An"), channel=1)


def open_task(rt, dossier_id, bpmn_id) -> Task:
    with rt.db.session_factory() as s:
        return s.scalars(select(Task).where(Task.dossier_id == dossier_id, Task.bpmn_id == bpmn_id,
                                            Task.state == "open")).one()


def run_until(world, end: datetime, step=timedelta(minutes=30), sweeper=None) -> list[tuple[str, str, str, tuple]]:
    """Sweep every `step` from the clock's instant up to `end`; what fired, when."""
    sweeper = sweeper or Sweeper(world.rt, channel_settings=NO_CHANNELS)
    clock = world.rt.clock
    out = []
    while clock.now() <= end:
        report = sweeper.run_once()
        assert not report.errors, report.errors
        out += [(local(clock.now()), f.level, f.entity_type, f.recipients) for f in report.fired]
        clock.advance(step)
    clock.set(end)
    return out


def test_next_escalation_instants_are_stored_on_receipt(world):
    world.rt.clock.set(at(2026, 4, 29, 9, 0))  # Wed; Thu 30/4 and Fri 1/5 are holidays
    r = receive(world)
    task = open_task(world.rt, r.dossier_id, "receive")
    assert task.due_at == at(2026, 4, 29, 11, 0)  # PT2H
    assert task.next_escalation_at == at(2026, 4, 29, 10, 30)  # 75% of 2 working hours
    with world.rt.db.session_factory() as s:
        d = s.get(Dossier, r.dossier_id)
        assert d.due_at == at(2026, 5, 6, 9, 0)  # P3D over the holidays and the weekend
        # the remaining steps need 2 working days (> the 1-day minimum lead)
        assert d.next_escalation_at == at(2026, 5, 4, 9, 0)


def test_dossier_life_over_several_days_skips_holidays(world):
    rt, clock = world.rt, world.rt.clock
    clock.set(at(2026, 4, 29, 9, 0))
    r = receive(world)
    fired = run_until(world, at(2026, 4, 29, 16, 0))
    assert fired == [
        ("Wed 04-29 10:30", "remind", "task", ("clerk",)),  # 75% of the desk's 2 h
        ("Wed 04-29 11:00", "warn", "task", ("chair",)),  # due: the chair hears of it
        ("Wed 04-29 14:00", "overdue", "task", ("chair", "clerk")),  # 1 working hour later (lunch skipped)
    ]
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id, {"note": "đủ"})
    appraise = open_task(rt, r.dossier_id, "appraise")  # P1D from Wed 16:00, holidays skipped
    assert appraise.due_at == at(2026, 5, 4, 16, 0)
    fired = run_until(world, at(2026, 5, 6, 12, 0))
    assert fired == [
        # the open steps still need 14 working hours (appraise 1D + sign 4h + return 2h) > the 1-day lead:
        # 14 working hours before Wed 06/05 09:00, counted back over Tue and Mon
        ("Mon 05-04 11:00", "apology_due", "dossier", ("clerk", "clerk2")),
        ("Mon 05-04 14:00", "remind", "task", ("officer",)),  # unclaimed: the role's pool
        ("Mon 05-04 16:00", "warn", "task", ("chair",)),
        ("Mon 05-04 17:00", "overdue", "task", ("chair",)),
    ]
    with rt.db.session_factory() as s:
        keys = s.execute(select(Escalation.entity_type, Escalation.entity_id, Escalation.level)).all()
        assert len(keys) == 7 and len(set(keys)) == 7
        assert s.scalar(select(func.count()).select_from(Notification)) == 9
        logged = s.scalars(select(Event.after).where(Event.kind == "scheduler.escalated")).all()
        assert sorted(item["escalation_id"] for entry in logged for item in entry["fired"]) == list(range(1, 8))
        appraise = s.get(Task, appraise.id)
        assert (appraise.escalation_level, appraise.next_escalation_at) == ("overdue", None)


def supplementation_dossier(world):
    """Tue 03-03 10:00 received, desk done at once; the officer asks for papers at 11:00."""
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id, {})
    clock.set(at(2026, 3, 3, 11, 0))
    dossiers.request_supplementation(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise").id,
                                     "thiếu bản sao giấy tờ")
    return r


def test_silent_while_paused_then_counts_from_the_resumed_clock(world):
    rt, clock = world.rt, world.rt.clock
    r = supplementation_dossier(world)
    with rt.db.session_factory() as s:
        assert s.get(Dossier, r.dossier_id).next_escalation_at is None  # paused: nothing scheduled
    assert run_until(world, at(2026, 3, 9, 9, 0)) == []  # six days waiting on the citizen: silence
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "bản sao"})
    appraise = open_task(rt, r.dossier_id, "appraise")
    assert appraise.due_at == at(2026, 3, 10, 9, 0)  # a fresh working day from Mon 09:00
    fired = run_until(world, at(2026, 3, 10, 12, 0))
    assert fired == [
        ("Mon 03-09 17:00", "remind", "task", ("officer",)),  # 6 working hours used at the close
        ("Tue 03-10 09:00", "warn", "task", ("chair",)),
        # the appointment moved by the 30 paused working hours to Thu 12/03 08:00; the steps
        # left need 14 working hours, so the desk is prompted 14 working hours before it
        ("Tue 03-10 10:00", "overdue", "task", ("chair",)),
        ("Tue 03-10 10:00", "apology_due", "dossier", ("clerk", "clerk2")),
    ]
    with rt.db.session_factory() as s:
        assert s.get(Dossier, r.dossier_id).due_at == at(2026, 3, 12, 8, 0)


def test_notices_wait_for_working_hours_and_the_inbox(world):
    rt, clock = world.rt, world.rt.clock
    r = supplementation_dossier(world)
    clock.set(at(2026, 3, 9, 9, 0))
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "bản sao"})
    clock.set(at(2026, 3, 9, 17, 0))
    report = Sweeper(rt, channel_settings=NO_CHANNELS).run_once()
    assert [f.level for f in report.fired] == ["remind"]
    officer, chair = world.actor("officer"), world.actor("chair")
    assert notifications.list_notifications(rt, officer) == []  # fired at the close: queued for the morning
    clock.set(at(2026, 3, 10, 6, 59))
    assert notifications.list_notifications(rt, officer) == []
    clock.set(at(2026, 3, 10, 7, 0))
    [notice] = notifications.list_notifications(rt, officer)
    assert (notice.level, notice.kind, notice.dossier_code, notice.read_at) == ("remind", "task.remind", r.code, None)
    assert "Nhắc việc" in notice.title_vi and "Reminder" in notice.title_en and "75%" in notice.body_vi
    with pytest.raises(NotFound):
        notifications.mark_read(rt, chair, notice.id)  # not the chair's notice
    assert notifications.mark_read(rt, officer, notice.id).read_at == clock.now()
    assert notifications.list_notifications(rt, officer, unread_only=True) == []
    assert len(notifications.list_notifications(rt, officer)) == 1
    with pytest.raises(InvalidInput) as bad:
        notifications.list_notifications(rt, officer, limit=0, offset=-1)
    assert len(bad.value.problems) == 2


def test_catches_up_once_after_a_three_day_outage(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id, {})
    assert Sweeper(rt, channel_settings=NO_CHANNELS).run_once().fired == []
    clock.set(at(2026, 3, 6, 10, 30))  # down from Tue 10:00 to Fri 10:30
    report = Sweeper(rt, channel_settings=NO_CHANNELS).run_once()
    got = sorted((f.entity_type, f.level, f.skipped, f.recipients) for f in report.fired)
    assert got == [
        ("dossier", "apology_due", (), ("clerk", "clerk2")),
        ("task", "overdue", ("remind", "warn"), ("chair",)),  # the highest level only, once
    ]
    # a restarted scheduler (new runtime, new sweeper) finds nothing left to say
    restarted = Runtime(rt.db, clock)
    for _ in range(3):
        assert Sweeper(restarted, channel_settings=NO_CHANNELS).run_once().fired == []
        clock.advance(timedelta(hours=4))
    with rt.db.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 3


def test_a_level_fires_once_even_if_the_projection_reschedules_it(world):
    """The unique key, not the stored instant, is the exactly-once guarantee."""
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    clock.set(at(2026, 3, 3, 11, 40))
    assert [f.level for f in Sweeper(rt, channel_settings=NO_CHANNELS).run_once().fired] == ["remind"]
    with rt.db.session_factory() as s:  # as if an old process had not seen the change
        task = s.scalars(select(Task).where(Task.dossier_id == r.dossier_id)).one()
        task.escalation_level, task.next_escalation_at = None, at(2026, 3, 3, 11, 0)
        s.commit()
    assert Sweeper(rt, channel_settings=NO_CHANNELS).run_once().fired == []
    with rt.db.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 1


def test_policy_per_commune_and_per_version(world):
    rt, clock = world.rt, world.rt.clock
    set_policy(rt, SYSTEM, settings={"remind_at": 0.5, "overdue_after": "PT3H"}, unit_code="TRIPHU")
    policy = set_policy(rt, SYSTEM, settings={"overdue_after": "PT2H"}, unit_code="TRIPHU",
                        procedure_code="9.000001")
    assert (policy.remind_at, policy.overdue_after) == (0.5, timedelta(hours=2))  # both apply, the pair wins
    r = receive(world)
    other = receive(world, unit="NAHANG", clerk="nh_clerk")
    assert open_task(rt, r.dossier_id, "receive").next_escalation_at == at(2026, 3, 3, 11, 0)  # 50% of 2 h
    assert open_task(rt, other.dossier_id, "receive").next_escalation_at == at(2026, 3, 3, 11, 30)  # default 75%
    fired = run_until(world, at(2026, 3, 3, 17, 0), step=timedelta(minutes=30))
    assert [(when, level) for when, level, kind, _ in fired if kind == "task"] == [
        ("Tue 03-03 11:00", "remind"), ("Tue 03-03 11:30", "remind"),
        ("Tue 03-03 14:00", "warn"), ("Tue 03-03 14:00", "warn"),
        ("Tue 03-03 15:00", "overdue"), ("Tue 03-03 16:00", "overdue"),
    ]
    # removing the override recomputes the open dossiers' stored instants
    set_policy(rt, SYSTEM, settings=None, unit_code="TRIPHU")
    with pytest.raises(InvalidInput) as bad:
        set_policy(rt, SYSTEM, settings={"remind_at": 2, "overdue_after": "soon", "warn_roles": ["king"], "x": 1})
    assert {p.code for p in bad.value.problems} >= {"bad_fraction", "bad_roles", "unknown_key"}
    assert len(bad.value.problems) == 4
    with pytest.raises(NotFound):
        set_policy(rt, SYSTEM, settings={}, unit_code="NOWHERE")


def test_boundary_timer_fires_on_the_sweep(world):
    rt, clock = world.rt, world.rt.clock
    from engine.services.procedures import publish_file
    from datetime import date

    publish_file(rt, SYSTEM, TIMER_MODEL, effective_from=date(2020, 1, 1))
    r = receive(world, procedure="9.000002")
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id, {})
    with rt.db.session_factory() as s:
        assert s.get(WorkflowState, r.dossier_id).next_timer_at == at(2026, 3, 3, 12, 0)  # armed at 10:00 + PT2H
    clock.set(at(2026, 3, 3, 12, 0))  # SpiffWorkflow fires once the instant is past
    assert Sweeper(rt, channel_settings=NO_CHANNELS).run_once().timers == []
    clock.set(at(2026, 3, 3, 12, 1))
    report = Sweeper(rt, channel_settings=NO_CHANNELS).run_once()
    assert report.timers == [r.code]
    assert Sweeper(rt, channel_settings=NO_CHANNELS).run_once().timers == []  # fired once
    taken = open_task(rt, r.dossier_id, "chair_takes_over")
    assert (taken.role, taken.due_at) == ("chair", at(2026, 3, 4, 7, 30))  # PT4H from 12:01 (lunch, night)
    with rt.db.session_factory() as s:
        states = dict(s.execute(select(Task.bpmn_id, Task.state).where(Task.dossier_id == r.dossier_id)).all())
        assert states["appraise"] == "cancelled"
        assert s.get(WorkflowState, r.dossier_id).next_timer_at is None
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "workflow.timer_fired")) == 1


def test_spiff_timers_see_each_threads_own_clock():
    import threading

    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    from engine.procedure.spiff_clock import spiff_now

    seen = {}

    def read(name, instant):
        with spiff_now(instant):
            barrier.wait()
            seen[name] = timer.datetime.now(VN_TZ)

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=read, args=("a", at(2026, 3, 3, 10, 0))),
               threading.Thread(target=read, args=("b", at(2030, 1, 2, 8, 0)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": at(2026, 3, 3, 10, 0), "b": at(2030, 1, 2, 8, 0)}
    assert abs(timer.datetime.now(VN_TZ) - datetime.now(VN_TZ)) < timedelta(seconds=5)  # outside: real time


def test_reschedule_after_a_new_day_off(world):
    from engine.services.calendars import DatabaseOverrideStore
    from engine.services.escalation_policies import reschedule_open
    from datetime import date

    rt = world.rt
    r = receive(world)  # Tue 10:00, P3D: the desk is prompted 2 working days before Fri 10:00
    with rt.db.session_factory() as s:
        assert s.get(Dossier, r.dossier_id).next_escalation_at == at(2026, 3, 4, 10, 0)
    DatabaseOverrideStore(rt).add("day_off", date(2026, 3, 4), reason="nghỉ đột xuất", actor="admin")
    assert reschedule_open(rt, SYSTEM) == 1
    with rt.db.session_factory() as s:  # the stored due instant stays (the law fixed it at receipt);
        d = s.get(Dossier, r.dossier_id)  # the prompt now counts back over the day off
        assert d.next_escalation_at == at(2026, 3, 3, 10, 0)


def test_a_quiet_sweep_asks_once_what_is_due_and_each_pass_finds_its_rows(world):
    """The passes with nothing due are skipped on one question; each kind of due row
    still makes its pass run."""
    from sqlalchemy import event

    rt = world.rt
    receipt = receive(world)  # its desk step's reminder and the dossier's apology are ahead
    sweeper = Sweeper(rt, channel_settings=ChannelSettings())
    rt.clock.set(at(2026, 3, 3, 8, 5))
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(rt.db.engine, "before_cursor_execute", listener)
    try:
        sweeper.run_once()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listener)
    assert sweeper.due_work(rt.clock.now()) == set()
    touching = [s for s in statements if any(f"FROM {t}" in s for t in (
        "tasks", "workflow_states", "corrective_actions", "outbox_messages", "deliveries"))]
    assert len(touching) == 1 and "EXISTS" in touching[0], touching
    assert "2026-03-03" in touching[0]  # the instant inline: no generic plan of a prepared statement
    # the desk step's reminder falls due: its pass runs, and the dossier's pass does not
    with rt.db.session_factory() as session:
        reminder = session.scalar(select(Task.next_escalation_at).where(Task.dossier_id == receipt.dossier_id))
        apology = session.scalar(select(Dossier.next_escalation_at).where(Dossier.id == receipt.dossier_id))
    rt.clock.set(reminder + timedelta(minutes=1))
    assert reminder < apology and sweeper.due_work(rt.clock.now()) >= {"tasks"}
    assert "dossiers" not in sweeper.due_work(rt.clock.now())
    assert sweeper.run_once().lines()
    assert "tasks" not in sweeper.due_work(rt.clock.now())  # fired once, its next level ahead
