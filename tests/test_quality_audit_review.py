"""Internal audit (9.2) and management review (9.3) on a small quarter of dossiers, and
objectives measured from the statistics (6.2)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.adapters.documents import quality as quality_documents
from engine.adapters.db.models import Dossier, Nonconformity, Task
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.runtime import Runtime
from engine.services import dossiers, quality, quality_audit, quality_review, satisfaction
from engine.services.dossiers import Applicant
from engine.views import quality as views
from engine.views import statistics
from tests.support import build_world

SYSTEM_STATS = views.STATS_READER


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


class Quarter:
    """TRIPHU: 7 dossiers received in 2026-Q1 (two finished late, one with an apology
    letter), one in April; NAHANG: 2 in Q1."""

    def __init__(self, world) -> None:
        self.world, self.rt = world, world.rt
        self.codes: dict[str, str] = {}

    def receive(self, name: str, when: datetime, unit: str = "TRIPHU") -> None:
        self.rt.clock.set(when)
        clerk = "clerk" if unit == "TRIPHU" else "nh_clerk"
        self.codes[name] = dossiers.receive(self.rt, self.world.actor(clerk), unit_code=unit,
                                            procedure_code="9.000001", applicant=Applicant(f"Công dân {name}")).code

    def finish(self, name: str, when: datetime, unit: str = "TRIPHU") -> None:
        prefix = "" if unit == "TRIPHU" else "nh_"
        self.rt.clock.set(when)
        for bpmn_id, who in (("receive", "clerk"), ("appraise", "officer"), ("sign", "chair")):
            with self.rt.db.session_factory() as s:
                task_id = s.scalar(select(Task.id).join(Dossier).where(
                    Dossier.code == self.codes[name], Task.bpmn_id == bpmn_id, Task.state == "open"))
            data = {} if bpmn_id == "receive" else {"outcome": "approve"}
            dossiers.complete_task(self.rt, self.world.actor(prefix + who), task_id, data)
        dossiers.return_result(self.rt, self.world.actor(prefix + "clerk"), self.codes[name])


@pytest.fixture
def world(db, clock):
    clock.set(at(2025, 12, 1, 8))  # published before the dossiers of the audited quarters arrive
    return build_world(Runtime(db, clock))


@pytest.fixture
def quarter(world) -> Quarter:
    q = Quarter(world)
    for i, day in enumerate((5, 12, 19, 26), start=1):  # Mondays of January
        q.receive(f"t{i}", at(2026, 1, day, 9, 0))
        q.finish(f"t{i}", at(2026, 1, day + 1, 9, 0))  # the next day: on time
    q.receive("late1", at(2026, 2, 2, 9, 0))
    q.finish("late1", at(2026, 2, 9, 9, 0))  # due Thu 02-05 09:00: late
    q.receive("late2", at(2026, 2, 3, 9, 0))
    q.rt.clock.set(at(2026, 2, 4, 9, 0))
    dossiers.issue_apology(q.rt, world.actor("clerk"), q.codes["late2"], "Chờ xác minh", at(2026, 2, 9, 9, 0))
    q.finish("late2", at(2026, 2, 10, 9, 0))  # late even against the new appointment
    q.receive("open", at(2026, 3, 30, 9, 0))
    q.receive("april", at(2026, 4, 1, 9, 0))
    q.receive("nh1", at(2026, 1, 6, 9, 0), unit="NAHANG")
    q.receive("nh2", at(2026, 2, 6, 9, 0), unit="NAHANG")
    q.rt.clock.set(at(2026, 4, 6, 9, 0))
    return q


def ids_of(rt, codes) -> set[int]:
    with rt.db.session_factory() as s:
        return set(s.scalars(select(Dossier.id).where(Dossier.code.in_(codes))))


def plan(world, auditor="consultant", **kwargs) -> int:
    programme = quality_audit.create_programme(world.rt, world.actor("consultant"), unit_code="TRIPHU", year=2026,
                                               scope="Các thủ tục hộ tịch")
    return quality_audit.plan_audit(world.rt, world.actor("consultant"), programme_id=programme,
                                    procedure_code="9.000001", auditor_id=world.actor(auditor).user_id,
                                    planned_on=date(2026, 4, 8), period_start=date(2026, 1, 1),
                                    period_end=date(2026, 3, 31), **kwargs)


def test_an_audit_samples_only_the_communes_dossiers_of_the_period_and_checks_every_step(world, quarter):
    rt, consultant = world.rt, world.actor("consultant")
    audit_id = plan(world, sample_size=5)
    audit = quality_audit.generate(rt, consultant, audit_id, seed=20260408)
    q1_triphu = ids_of(rt, [c for n, c in quarter.codes.items() if not n.startswith(("nh", "april"))])
    assert len(q1_triphu) == 7
    assert set(audit.sample) <= q1_triphu and len(audit.sample) == 5
    assert audit.sample == rules.draw_sample(q1_triphu, 5, 20260408)  # redrawn from the recorded seed
    view = views.get_audit(rt, consultant, audit_id)
    with rt.db.engine.connect() as conn:  # the pinned version's model, every step in order
        model_steps = [s.bpmn_id for s in rt.model_of_version(conn, _version(rt, audit_id)).steps_in_order()]
    assert [c["step"] for c in view.checklist] == model_steps
    assert {"receive", "appraise", "sign", "return_result"} <= set(model_steps)
    for c in view.checklist:
        assert set(c) == {"step", "name", "role", "duration_seconds", "clock", "form", "record"}
    sampled = {d.code: d for d in view.sample}
    for d in view.sample:
        if d.finished_at is not None:  # a finished dossier shows its actual appraise and sign steps
            assert d.steps["appraise"][0].completed_at is not None and d.steps["sign"][0].completed_by == "Chair"
    assert all(c.startswith("TRIPHU-") for c in sampled)
    with pytest.raises(Conflict):  # the recorded sample stays as drawn
        quality_audit.generate(rt, consultant, audit_id, seed=1)


def _version(rt, audit_id):
    from engine.adapters.db.models import InternalAudit
    with rt.db.session_factory() as s:
        return s.get(InternalAudit, audit_id).procedure_version_id


def test_an_auditor_performing_the_procedures_steps_is_refused(world, quarter):
    with pytest.raises(Conflict) as caught:
        plan(world, auditor="chair")  # the chair signs these dossiers
    assert caught.value.code == "auditor_not_independent"
    with pytest.raises(InvalidInput):  # someone from another commune holds no role here
        quality_audit.plan_audit(world.rt, world.actor("consultant"), programme_id=1, procedure_code="9.000001",
                                 auditor_id=world.actor("nh_chair").user_id, planned_on=date(2026, 4, 8),
                                 period_start=date(2026, 1, 1), period_end=date(2026, 3, 31))


def test_a_nonconformity_finding_opens_a_nonconformity_and_the_report_prints(world, quarter):
    rt, consultant = world.rt, world.actor("consultant")
    audit_id = plan(world)
    quality_audit.generate(rt, consultant, audit_id, seed=3)
    with pytest.raises(PermissionDenied):  # only the named auditor conducts the audit
        quality_audit.add_finding(rt, world.actor("vice"), audit_id, kind="observation", text="x")
    quality_audit.add_finding(rt, consultant, audit_id, kind="conformity", text="Phiếu kiểm soát đầy đủ", step="receive")
    finding_id, nc_id = quality_audit.add_finding(rt, consultant, audit_id, kind="nonconformity", step="sign",
                                                  dossier_code=quarter.codes["late1"],
                                                  text="Hồ sơ quá hạn không có phiếu xin lỗi")
    with rt.db.session_factory() as s:
        nc = s.get(Nonconformity, nc_id)
    assert (nc.source_kind, nc.source_id, nc.state) == ("audit_finding", finding_id, "open")
    with pytest.raises(InvalidInput):
        quality_audit.add_finding(rt, consultant, audit_id, kind="observation", text="x", step="nope")
    quality_audit.report(rt, consultant, audit_id, "Quy trình được tuân thủ; một điểm không phù hợp.")
    html = quality_documents.audit_report(rt, consultant, audit_id, "html")
    assert "Hồ sơ quá hạn không có phiếu xin lỗi" in html and "Không phù hợp" in html
    assert quality_documents.audit_report(rt, consultant, audit_id, "pdf")[:4] == b"%PDF"
    with pytest.raises(NotFound):
        views.get_audit(rt, world.actor("nh_chair"), audit_id)


def test_objectives_measured_for_a_quarter_equal_the_statistics_of_that_quarter(world, quarter):
    rt, chair = world.rt, world.actor("chair")
    for title, measure, target in (("≥ 98% đúng hạn", "on_time_percent", 98), ("Không hồ sơ trễ thiếu xin lỗi",
                                   "late_without_apology", 0), ("Hài lòng ≥ 95%", "satisfaction_percent", 95),
                                   ("TB ≤ 2 ngày", "avg_processing_days", 2)):
        quality.set_objective(rt, chair, unit_code="TRIPHU", year=2026, title=title, measure=measure, target=target)
    stats = statistics.compute_statistics(rt, SYSTEM_STATS, period="2026-Q1", group_by="commune", unit_code="TRIPHU")
    measured = {m.measure: m for m in views.measure_objectives(rt, chair, unit_code="TRIPHU", period="2026-Q1")}
    assert stats.total.finished_late == 2 and stats.total.finished_total == 6
    assert measured["on_time_percent"].value == stats.total.indicator_2_1 == 66.7
    assert measured["on_time_percent"].verdict == "not_met"
    assert measured["avg_processing_days"].value == stats.total.indicator_2_2_days
    assert measured["satisfaction_percent"].value is None and measured["satisfaction_percent"].verdict == "no_data"
    assert measured["late_without_apology"].value == 1  # late1 had no letter; late2 had one
    review_id = quality_review.create_review(rt, chair, unit_code="TRIPHU", period="2026-Q1",
                                             held_on=date(2026, 4, 10), chaired_by="Chủ tịch UBND xã")
    pack = views.review_pack(rt, chair, review_id)
    assert {m.measure: m.value for m in pack.objectives} == {m: v.value for m, v in measured.items()}
    html = quality_documents.review_document(rt, chair, review_id)
    assert "66.7%" in html and "Chưa có số liệu" in html
    with pytest.raises(NotFound):
        views.measure_objectives(rt, world.actor("nh_chair"), unit_code="TRIPHU", period="2026-Q1")


def test_the_review_pack_lists_what_the_quarter_produced_and_tracks_the_previous_actions(world, quarter):
    rt, chair = world.rt, world.actor("chair")
    first = quality_review.create_review(rt, chair, unit_code="TRIPHU", period="2025-Q4", held_on=date(2026, 1, 5),
                                         chaired_by="Chủ tịch")
    rt.clock.set(at(2026, 1, 5, 10, 0))
    old_action = quality.add_action(rt, chair, review_id=first, description="Bổ sung cán bộ một cửa",
                                    owner_id=world.actor("vice").user_id, due_on=date(2026, 2, 27))
    rt.clock.set(at(2026, 3, 10, 10, 0))
    complaint = quality.record_complaint(rt, world.actor("clerk"), dossier_code=quarter.codes["late1"],
                                         complainant="Công dân late1", content="Trả kết quả chậm")
    quality.add_action(rt, chair, nonconformity_id=complaint.nonconformity_id, description="Nhắc lịch xác minh",
                       owner_id=world.actor("officer").user_id, due_on=date(2026, 3, 20))
    quality.analyse(rt, chair, complaint.nonconformity_id, "Chưa có lịch xác minh")
    quality.add_risk(rt, chair, unit_code="TRIPHU", kind="risk", description="Công chức tư pháp nghỉ dài ngày",
                     likelihood=3, impact=5, procedure_code="9.000001", treatment="Phân công người thay")
    rt.clock.set(at(2026, 4, 6, 9, 0))
    review_id = quality_review.create_review(rt, chair, unit_code="TRIPHU", period="2026-Q1",
                                             held_on=date(2026, 4, 10), chaired_by="Chủ tịch")
    quality_review.record_decision(rt, chair, review_id, "Tăng cường kiểm tra hồ sơ sắp đến hạn")
    quality.add_action(rt, chair, review_id=review_id, description="Lập lịch kiểm tra hằng tuần",
                       owner_id=world.actor("vice").user_id, due_on=date(2026, 4, 30))
    with pytest.raises(Conflict):
        quality_review.create_review(rt, chair, unit_code="TRIPHU", period="2026-q1", held_on=date(2026, 4, 11),
                                     chaired_by="x")
    pack = views.review_pack(rt, chair, review_id)
    assert pack.previous_review.id == first and [a.id for a in pack.previous_actions] == [old_action]
    assert pack.previous_actions[0].overdue and pack.previous_actions[0].state == "open"
    assert [c.dossier_code for c in pack.complaints] == [quarter.codes["late1"]]
    assert pack.nonconformities_by_source == {"complaint": 1}
    assert [(c.cause, c.dossiers) for c in pack.late_by_cause] == [  # most dossiers first, then by cause
        (views.NOT_ANALYSED, [quarter.codes["late1"]]),
        ("Lý do trong phiếu xin lỗi / apology letter: Chờ xác minh", [quarter.codes["late2"]])]
    assert [r.score for r in pack.risks] == [15] and pack.decisions == ["Tăng cường kiểm tra hồ sơ sắp đến hạn"]
    assert [a.description for a in pack.actions] == ["Lập lịch kiểm tra hằng tuần"]
    assert {w.officer for w in pack.workload} >= {"Officer", "Chair"}
    assert sum(w.steps_finished for w in pack.workload if w.officer == "Officer") == 6
    assert quality_documents.review_document(rt, chair, review_id, "pdf")[:4] == b"%PDF"
    with pytest.raises(NotFound):
        views.review_pack(rt, world.actor("nh_chair"), review_id)
    with pytest.raises(InvalidInput):
        quality_review.create_review(rt, chair, unit_code="TRIPHU", period="2026-Q5", held_on=date(2026, 4, 10),
                                     chaired_by="x")


def test_the_satisfaction_objective_measures_the_ratings_of_the_period(world, quarter):
    rt, chair = world.rt, world.actor("chair")
    quality.set_objective(rt, chair, unit_code="TRIPHU", year=2026, title="Hài lòng ≥ 95%",
                          measure="satisfaction_percent", target=95)
    for name, rating, day in (("t1", "very_satisfied", 2), ("t2", "satisfied", 3), ("late1", "not_satisfied", 10)):
        rt.clock.set(at(2026, 3, day, 9, 0))
        satisfaction.rate_at_desk(rt, world.actor("clerk"), quarter.codes[name], rating)
    rt.clock.set(at(2026, 4, 6, 9, 0))
    stats = statistics.compute_statistics(rt, SYSTEM_STATS, period="2026-Q1", group_by="commune", unit_code="TRIPHU")
    measured = {m.measure: m for m in views.measure_objectives(rt, chair, unit_code="TRIPHU", period="2026-Q1")}
    assert stats.total.satisfaction_percent == 66.7
    assert measured["satisfaction_percent"].value == 66.7 and measured["satisfaction_percent"].verdict == "not_met"
    assert measured["satisfaction_percent"].note is None
    assert views.measure_objectives(rt, chair, unit_code="TRIPHU", period="2026-01")[0].note.startswith("Chưa có số liệu")
