"""The quality system (docs/iso.md): nonconformities that open by themselves from the
sweep exactly once, the nonconformity life cycle, corrective action reminders, and
another commune's records being "not found"."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.adapters.channels import ChannelSettings
from engine.adapters.db.models import ActionReminder, Event, Nonconformity, Notification, QualityMark
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.runtime import Runtime
from engine.scheduler.sweep import Sweeper
from engine.services import dossiers, quality, quality_sweep
from engine.services.dossiers import Applicant
from tests.support import build_world

NO_CHANNELS = ChannelSettings()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world, unit="TRIPHU", clerk="clerk"):
    return dossiers.receive(world.rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An"), channel=1)


def ncs(rt) -> list[Nonconformity]:
    with rt.db.session_factory() as s:
        return list(s.scalars(select(Nonconformity).order_by(Nonconformity.id)))


def sweep(world, when: datetime):
    world.rt.clock.set(when)
    report = Sweeper(world.rt, channel_settings=NO_CHANNELS).run_once()
    assert not report.errors, report.errors
    return report


def test_a_dossier_that_becomes_late_opens_exactly_one_nonconformity(world):
    receipt = receive(world)  # Tue 03-03 10:00, 3 working days: due Fri 03-06 10:00
    other = receive(world)
    assert receipt.due_at == at(2026, 3, 6, 10, 0)
    sweep(world, at(2026, 3, 6, 9, 59))
    assert ncs(world.rt) == []  # not late yet
    report = sweep(world, at(2026, 3, 6, 10, 1))
    opened = ncs(world.rt)
    assert sorted(n.dossier_id for n in opened) == sorted([receipt.dossier_id, other.dossier_id])
    assert {n.source_kind for n in opened} == {"late_dossier"} and {n.state for n in opened} == {"open"}
    assert sum(line.startswith("nonconformity") for line in report.lines()) == 2
    for minutes in (30, 60, 24 * 60):  # later sweeps, and a day later: nothing twice
        sweep(world, at(2026, 3, 6, 10, 1) + timedelta(minutes=minutes))
    assert len(ncs(world.rt)) == 2
    with world.rt.db.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "nonconformity.opened")) == 2


def test_the_two_sweeps_racing_insert_once_even_when_both_saw_the_dossier(world):
    """Two sweeps decide on the same late dossier; the unique key keeps one row."""
    receive(world)
    now = at(2026, 3, 6, 11, 0)
    world.rt.clock.set(now)
    first = quality_sweep.open_late_dossier_nonconformities(world.rt, now)
    with world.rt.db.engine.begin() as conn:  # forget the watermark: the second one reads the same window
        conn.execute(quality_sweep.QualityMark.__table__.delete())
    second = quality_sweep.open_late_dossier_nonconformities(world.rt, now)
    assert len(first) == 1 and second == [] and len(ncs(world.rt)) == 1


def test_a_dossier_finished_on_time_or_waiting_on_the_citizen_opens_none(world):
    receipt = receive(world)
    with world.rt.db.engine.begin() as conn:  # the clock is paused: the citizen supplements
        from engine.adapters.db.models import DossierPause
        conn.execute(DossierPause.__table__.insert().values(dossier_id=receipt.dossier_id, kind="supplementation",
                                                            started_at=at(2026, 3, 4, 9, 0), reason="x"))
    sweep(world, at(2026, 3, 6, 11, 0))
    assert ncs(world.rt) == []


def test_a_dossier_that_closed_late_between_sweeps_is_caught_by_the_watermark(world):
    receipt = receive(world)
    sweep(world, at(2026, 3, 6, 9, 0))
    with world.rt.db.engine.begin() as conn:  # returned late before the next sweep saw it open
        from engine.adapters.db.models import Dossier
        conn.execute(Dossier.__table__.update().where(Dossier.id == receipt.dossier_id).values(
            state="closed", finished_at=at(2026, 3, 6, 10, 30), classification="late", status_code=10))
    sweep(world, at(2026, 3, 6, 11, 0))
    assert [n.dossier_id for n in ncs(world.rt)] == [receipt.dossier_id]


def test_the_watermark_moves_every_few_minutes_not_at_every_sweep(world):
    def mark() -> datetime:
        with world.rt.db.engine.connect() as conn:
            return conn.execute(select(QualityMark.at).where(QualityMark.name == quality_sweep.MARK)).scalar_one()

    receipt = receive(world)  # due Fri 03-06 10:00
    sweep(world, at(2026, 3, 6, 9, 0))
    assert mark() == at(2026, 3, 6, 9, 0)
    sweep(world, at(2026, 3, 6, 9, 4))  # less than MARK_STEP later: no write
    assert mark() == at(2026, 3, 6, 9, 0)
    sweep(world, at(2026, 3, 6, 10, 2))  # the dossier became late meanwhile: seen all the same
    assert mark() == at(2026, 3, 6, 10, 2) and [n.dossier_id for n in ncs(world.rt)] == [receipt.dossier_id]


def test_an_apology_letter_opens_its_own_nonconformity(world):
    receipt = receive(world)
    world.rt.clock.set(at(2026, 3, 4, 9, 0))
    dossiers.issue_apology(world.rt, world.actor("clerk"), receipt.code, "Chờ xác minh", at(2026, 3, 10, 10, 0))
    sweep(world, at(2026, 3, 4, 9, 30))
    sweep(world, at(2026, 3, 4, 10, 0))
    assert [(n.source_kind, n.dossier_id) for n in ncs(world.rt)] == [("apology", receipt.dossier_id)]


def test_a_complaint_opens_a_nonconformity_and_gets_an_answer(world):
    receipt = receive(world)
    rec = quality.record_complaint(world.rt, world.actor("clerk"), dossier_code=receipt.code,
                                   complainant="Nguyễn Văn An", content="Cán bộ hẹn lại nhiều lần")
    assert rec.nonconformity_id is not None
    quality.answer_complaint(world.rt, world.actor("chair"), rec.id, "Đã xin lỗi và giải quyết ngay")
    [nc] = ncs(world.rt)
    assert nc.source_kind == "complaint" and nc.source_id == rec.id and nc.dossier_id == receipt.dossier_id
    with pytest.raises(NotFound):  # another commune's clerk does not even see the dossier
        quality.record_complaint(world.rt, world.actor("nh_clerk"), dossier_code=receipt.code, complainant="A",
                                 content="B")
    with pytest.raises(InvalidInput):
        quality.record_complaint(world.rt, world.actor("clerk"), dossier_code=receipt.code, complainant=" ",
                                 content="B")


def test_the_life_of_a_nonconformity_from_opening_to_closure(world):
    rt, chair = world.rt, world.actor("chair")
    nc_id = quality.open_nonconformity(rt, world.actor("officer"), unit_code="TRIPHU",
                                       description="Sổ theo dõi ghi thiếu ngày trả")
    with pytest.raises(Conflict):  # no corrective action yet
        quality.analyse(rt, chair, nc_id, "Mẫu sổ cũ không có cột ngày trả")
    officer_id = world.actor("officer").user_id
    first = quality.add_action(rt, chair, nonconformity_id=nc_id, description="In mẫu sổ mới", owner_id=officer_id,
                               due_on=date(2026, 3, 10))
    assert quality.analyse(rt, chair, nc_id, "Mẫu sổ cũ không có cột ngày trả") == "action_planned"
    with pytest.raises(Conflict):
        quality.verify(rt, chair, nc_id, "Kiểm tra sổ", True)  # the action is not done
    quality.complete_action(rt, world.actor("officer"), first, "Đã in và phát mẫu sổ mới")
    assert quality.verify(rt, chair, nc_id, "Sổ tháng 3 ghi thiếu", False) == "action_planned"
    second = quality.add_action(rt, chair, nonconformity_id=nc_id, description="Tập huấn ghi sổ",
                                owner_id=officer_id, due_on=date(2026, 3, 12))
    quality.complete_action(rt, chair, second, "Đã tập huấn")
    assert quality.verify(rt, chair, nc_id, "Sổ tháng 3 ghi đủ", True) == "verifying"
    with pytest.raises(Conflict):  # the immediate correction was never recorded
        quality.close(rt, chair, nc_id)
    quality.record_correction(rt, chair, nc_id, "Bổ sung ngày trả vào sổ")
    assert quality.close(rt, chair, nc_id) == "closed"
    with pytest.raises(Conflict):
        quality.record_correction(rt, chair, nc_id, "sau khi đóng")
    with pytest.raises(PermissionDenied):  # an officer reports, a leader manages
        quality.analyse(rt, world.actor("officer"), nc_id, "x")


def test_another_communes_nonconformity_is_not_found(world):
    nc_id = quality.open_nonconformity(world.rt, world.actor("chair"), unit_code="TRIPHU", description="x")
    with pytest.raises(NotFound):
        quality.record_correction(world.rt, world.actor("nh_chair"), nc_id, "y")
    with pytest.raises(NotFound):
        quality.open_nonconformity(world.rt, world.actor("nh_chair"), unit_code="TRIPHU", description="x")


def test_a_corrective_action_past_its_due_date_is_escalated_once(world):
    rt = world.rt
    nc_id = quality.open_nonconformity(rt, world.actor("chair"), unit_code="TRIPHU", description="x")
    owner = world.actor("officer").user_id
    # due Fri 2026-03-06: the owner is reminded when that day opens, the chair after its close
    action_id = quality.add_action(rt, world.actor("chair"), nonconformity_id=nc_id, description="Sửa quy trình",
                                   owner_id=owner, due_on=date(2026, 3, 6))
    sweep(world, at(2026, 3, 5, 16, 0))
    assert _reminders(rt) == []
    report = sweep(world, at(2026, 3, 6, 7, 30))
    assert _reminders(rt) == [(action_id, "remind")] and any("remind -> officer" in l for l in report.lines())
    sweep(world, at(2026, 3, 6, 16, 59))
    report = sweep(world, at(2026, 3, 6, 17, 1))
    assert _reminders(rt) == [(action_id, "remind"), (action_id, "overdue")]
    assert any("overdue -> officer, chair" in line for line in report.lines())
    for day in (7, 9, 10):
        sweep(world, at(2026, 3, day, 9, 0))
    assert len(_reminders(rt)) == 2
    with rt.db.session_factory() as s:
        notices = s.execute(select(Notification.kind, Notification.recipient_id, Notification.deliver_after)
                            .where(Notification.kind.like("action.%")).order_by(Notification.id)).all()
    assert [(k, r) for k, r, _ in notices] == [("action.remind", owner), ("action.overdue", owner),
                                               ("action.overdue", world.actor("chair").user_id)]
    assert notices[-1][2] == at(2026, 3, 9, 7, 0)  # fired after the close: delivered when Monday opens


def test_after_downtime_only_the_overdue_reminder_fires_and_a_done_action_none(world):
    rt = world.rt
    nc_id = quality.open_nonconformity(rt, world.actor("chair"), unit_code="TRIPHU", description="x")
    owner = world.actor("officer").user_id
    late = quality.add_action(rt, world.actor("chair"), nonconformity_id=nc_id, description="a", owner_id=owner,
                              due_on=date(2026, 3, 4))
    done = quality.add_action(rt, world.actor("chair"), nonconformity_id=nc_id, description="b", owner_id=owner,
                              due_on=date(2026, 3, 4))
    quality.complete_action(rt, world.actor("officer"), done, "xong")
    sweep(world, at(2026, 3, 9, 9, 0))
    with rt.db.session_factory() as s:
        rows = s.execute(select(ActionReminder.action_id, ActionReminder.level, ActionReminder.skipped)).all()
    assert [tuple(r) for r in rows] == [(late, "overdue", ["remind"])]


def _reminders(rt) -> list[tuple[int, str]]:
    with rt.db.session_factory() as s:
        return [tuple(r) for r in s.execute(select(ActionReminder.action_id, ActionReminder.level)
                                            .order_by(ActionReminder.id))]


def test_add_action_refuses_an_owner_from_another_commune_and_a_past_date(world):
    nc_id = quality.open_nonconformity(world.rt, world.actor("chair"), unit_code="TRIPHU", description="x")
    with pytest.raises(InvalidInput):
        quality.add_action(world.rt, world.actor("chair"), nonconformity_id=nc_id, description="a",
                           owner_id=world.actor("nh_officer").user_id, due_on=date(2026, 3, 9))
    with pytest.raises(InvalidInput):
        quality.add_action(world.rt, world.actor("chair"), nonconformity_id=nc_id, description="a",
                           owner_id=world.actor("officer").user_id, due_on=date(2026, 3, 2))


def test_late_dossiers_are_taken_in_batches_until_none_is_left(world):
    codes = {receive(world).code for _ in range(3)}
    now = at(2026, 3, 6, 11, 0)
    world.rt.clock.set(now)
    opened = quality_sweep.open_late_dossier_nonconformities(world.rt, now, batch_size=1)
    assert {o.dossier_code for o in opened} == codes and len(ncs(world.rt)) == 3


def test_the_first_sweep_reads_the_whole_open_backlog(world):
    """No watermark yet (a fresh install or the upgrade): every open overdue dossier is
    seen once, however long ago its appointment passed."""
    receipt = receive(world)  # due Fri 03-06 10:00
    sweep(world, at(2026, 3, 20, 10, 0))  # two weeks later, far beyond the first look-back
    assert [n.dossier_id for n in ncs(world.rt)] == [receipt.dossier_id]


def test_the_steady_sweep_reads_what_became_late_since_its_watermark(world):
    """Once a watermark exists the open overdue dossiers are read from it on, not the
    whole backlog: a backlog dossier without a record (its record removed here) is not
    read again, while one that becomes late after the watermark is."""
    old = receive(world)  # due Fri 03-06 10:00
    sweep(world, at(2026, 3, 6, 10, 1))
    sweep(world, at(2026, 3, 6, 12, 0))  # the watermark (less its hour of look-back) passes the appointment
    with world.rt.db.engine.begin() as conn:
        conn.execute(Nonconformity.__table__.delete())
    world.rt.clock.set(at(2026, 3, 9, 10, 0))
    new = receive(world)  # Mon 03-09 10:00, due Thu 03-12 10:00
    for day in (10, 11, 12):
        sweep(world, at(2026, 3, day, 10, 30))
    assert [n.dossier_id for n in ncs(world.rt)] == [new.dossier_id] and old.dossier_id != new.dossier_id
