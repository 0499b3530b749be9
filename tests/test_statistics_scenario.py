"""The §7 statistics on dossiers built through the real services (SQLite, or PostgreSQL in CI).

One scenario, built once for this module, in March 2026 (no holidays; weekends 7-8, 14-15,
21-22, 28-29), working sessions 07:00-11:30 and 13:30-17:00. Two procedures: 9.000001 (civil
status, 3 working days, 5 in the mountainous commune) and 9.000002 (certification, 2 days).
Steps: receive 2 h (clerk), appraise 1 day (officer), sign 4 h (chair), return 2 h (clerk).

TRIPHU                          received                due                  end
  Z 9.000002 ch1  Fri 27/2 10:00  Tue 3/3 10:00   finished Fri 27/2 15:00 (before March)
  A 9.000001 ch1  Fri 27/2 10:00  Wed 4/3 10:00   finished Thu 5/3 11:00 late (carried over)
  B 9.000001 ch2  Tue 3/3 10:00   Fri 6/3 10:00   finished Tue 3/3 15:00 early
  C 9.000001 ch3  Tue 3/3 10:00   Fri 6/3 10:00   finished Fri 6/3 09:00 on time
  D 9.000001 ch1  Tue 3/3 10:00   Tue 10/3 10:00  paused Tue 3/3 15:00 - Thu 5/3 15:00 (16 h),
                                                  finished Tue 10/3 09:00 on time, not returned
  K 9.000002 ch2  Tue 3/3 10:00   Thu 5/3 10:00   finished Thu 5/3 11:00 late
  G 9.000002 ch3  Fri 20/3 10:00                  withdrawn Mon 23/3 10:00
  E 9.000001 ch1  Wed 25/3 10:00  Mon 30/3 10:00  open, receive step not done: overdue at 31/3
  I 9.000001 ch2  Thu 26/3 10:00  Tue 31/3 10:00  paused since Fri 27/3 10:00: within limit
  F 9.000002 ch2  Mon 30/3 10:00  Wed 1/4 10:00   open at 31/3 (within); finished Thu 2/4 10:00 late
NAHANG (mountainous)
  H 9.000001 ch1  Wed 4/3 10:00   Wed 11/3 10:00  finished Thu 5/3 09:00 early
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.domain.clock import FixedClock
from engine.adapters.db.models import Base, Dossier, Task
from engine.adapters.db.session import Database
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.views.statistics import StatisticsRow, compute_statistics
from tests.conftest import TEST_DATABASE_URL
from tests.support import SIMPLE_MODEL, SYSTEM, build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def certification_model(directory: Path) -> Path:
    """A second procedure in another field: the test model with another code and limit."""
    source = SIMPLE_MODEL.read_text(encoding="utf-8")
    source = (source.replace('value="9.000001"', 'value="9.000002"')
              .replace('value="civil_status"', 'value="certification"')
              .replace('name="time_limit" value="P3D"', 'name="time_limit" value="P2D"')
              .replace('name="Thủ tục thử nghiệm"', 'name="Chứng thực thử nghiệm"'))
    path = directory / "certification-procedure.bpmn"
    path.write_text(source, encoding="utf-8")
    shutil.copytree(SIMPLE_MODEL.parent / "forms", directory / "forms", dirs_exist_ok=True)
    return path


class Scenario:
    def __init__(self, rt: Runtime, clock: FixedClock, world) -> None:
        self.rt, self.clock, self.world = rt, clock, world
        self.ids: dict[str, int] = {}

    def actor(self, name: str) -> Actor:
        return self.world.actor(name)

    def receive(self, name: str, when: datetime, procedure: str, channel: int, unit: str = "TRIPHU") -> None:
        self.clock.set(when)
        clerk = "clerk" if unit == "TRIPHU" else "nh_clerk"
        receipt = dossiers.receive(self.rt, self.actor(clerk), unit_code=unit, procedure_code=procedure,
                                   applicant=Applicant(f"Công dân {name}"), channel=channel)
        self.ids[name] = receipt.dossier_id

    def step(self, name: str, bpmn_id: str, who: str, when: datetime, data: dict | None = None) -> None:
        self.clock.set(when)
        with self.rt.db.session_factory() as s:
            task_id = s.scalar(select(Task.id).where(Task.dossier_id == self.ids[name], Task.bpmn_id == bpmn_id,
                                                     Task.state == "open"))
        assert task_id is not None, f"{name}: {bpmn_id} is not open"
        dossiers.complete_task(self.rt, self.actor(who), task_id, data or {})

    def finish(self, name: str, when: datetime, nahang: bool = False, *, returned: bool = True) -> None:
        """appraise, sign (and return) at one instant: processing ends at `when`."""
        prefix = "nh_" if nahang else ""
        self.step(name, "appraise", f"{prefix}officer", when, {"outcome": "approve"})
        self.step(name, "sign", f"{prefix}chair", when, {"outcome": "approve"})
        if returned:
            dossiers.return_result(self.rt, self.actor(f"{prefix}clerk"), self.ids[name])


@pytest.fixture(scope="module")
def scenario(_migrated_template, tmp_path_factory) -> Scenario:
    directory = tmp_path_factory.mktemp("stats")
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} RESTART IDENTITY CASCADE"))
    else:
        shutil.copyfile(_migrated_template, directory / "isoflow.db")
        db = Database(f"sqlite:///{directory / 'isoflow.db'}")
    clock = FixedClock(at(2026, 2, 27, 10, 0))
    rt = Runtime(db, clock)
    world = build_world(rt, [SIMPLE_MODEL, certification_model(directory)])
    sc = Scenario(rt, clock, world)
    P, C = "9.000001", "9.000002"
    sc.receive("Z", at(2026, 2, 27, 10, 0), C, 1)
    sc.receive("A", at(2026, 2, 27, 10, 0), P, 1)
    sc.step("Z", "receive", "clerk", at(2026, 2, 27, 10, 0))
    sc.finish("Z", at(2026, 2, 27, 15, 0))
    for name, procedure, channel in (("B", P, 2), ("C", P, 3), ("D", P, 1), ("K", C, 2)):
        sc.receive(name, at(2026, 3, 3, 10, 0), procedure, channel)
        sc.step(name, "receive", "clerk", at(2026, 3, 3, 10, 0))
    sc.finish("B", at(2026, 3, 3, 15, 0))
    sc.step("D", "appraise", "officer", at(2026, 3, 3, 15, 0), {"outcome": "supplement", "reason": "Thiếu giấy"})
    sc.receive("H", at(2026, 3, 4, 10, 0), P, 1, unit="NAHANG")
    sc.step("H", "receive", "nh_clerk", at(2026, 3, 4, 10, 0))
    sc.finish("H", at(2026, 3, 5, 9, 0), nahang=True)
    sc.step("A", "receive", "clerk", at(2026, 3, 5, 11, 0))
    sc.finish("A", at(2026, 3, 5, 11, 0))
    sc.finish("K", at(2026, 3, 5, 11, 0))
    sc.clock.set(at(2026, 3, 5, 15, 0))
    dossiers.supplement(rt, sc.actor("clerk"), sc.ids["D"], {"documents": "Giấy chứng sinh"})
    sc.finish("C", at(2026, 3, 6, 9, 0))
    sc.finish("D", at(2026, 3, 10, 9, 0), returned=False)
    sc.receive("G", at(2026, 3, 20, 10, 0), C, 3)
    sc.clock.set(at(2026, 3, 23, 10, 0))
    dossiers.withdraw(rt, sc.actor("clerk"), sc.ids["G"], "Công dân xin rút hồ sơ")
    sc.receive("E", at(2026, 3, 25, 10, 0), P, 1)
    sc.receive("I", at(2026, 3, 26, 10, 0), P, 2)
    sc.step("I", "receive", "clerk", at(2026, 3, 26, 10, 0))
    sc.step("I", "appraise", "officer", at(2026, 3, 27, 10, 0), {"outcome": "supplement", "reason": "Thiếu giấy"})
    sc.receive("F", at(2026, 3, 30, 10, 0), C, 2)
    sc.step("F", "receive", "clerk", at(2026, 4, 2, 10, 0))
    sc.finish("F", at(2026, 4, 2, 10, 0))
    sc.clock.set(at(2026, 4, 10, 10, 0))
    yield sc
    db.dispose()


def counts(row: StatisticsRow) -> dict:
    out = row.to_dict()
    out.pop("key"), out.pop("label")
    return out


def keys(report) -> list[str]:
    return [r.key for r in report.rows]


def row_of(report, key: str) -> StatisticsRow:
    [row] = [r for r in report.rows if r.key == key]
    return row


def test_scenario_is_what_the_docstring_says(scenario):
    with scenario.rt.db.session_factory() as s:
        got = {name: s.get(Dossier, i) for name, i in scenario.ids.items()}
        assert {n: d.classification for n, d in got.items()} == {
            "Z": "early", "A": "late", "B": "early", "C": "on_time", "D": "on_time", "K": "late", "G": None,
            "E": None, "I": None, "F": "late", "H": "early"}
        assert got["D"].due_at == at(2026, 3, 10, 10, 0) and got["I"].due_at == at(2026, 3, 31, 10, 0)
        assert got["I"].status_code == 5 and got["G"].result == "withdrawn"


def test_by_commune_march(scenario):
    report = compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="commune")
    assert (report.period.start.isoformat(), report.period.end.isoformat()) == ("2026-03-01", "2026-03-31")
    assert report.as_of == at(2026, 3, 31, 17, 0)  # open dossiers are judged at the last day's close
    assert [(r.key, r.label) for r in report.rows] == [("NAHANG", "Xã Na Hang"), ("TRIPHU", "Xã Tri Phú")]
    assert counts(row_of(report, "TRIPHU")) == {
        "carried_over": 1, "received_new": 8, "received_by_channel": {"1": 2, "2": 4, "3": 2}, "received_total": 9,
        "finished_early": 1, "finished_on_time": 2, "finished_late": 2, "finished_total": 5,
        "ended_without_result": 1, "pending_within_limit": 2, "pending_overdue": 1, "pending_total": 3,
        "indicator_2_1": 60.0,
        # B 3 h, C 23 h, D 39 h - 16 h paused, A 33 h, K 17 h: 99 h / 5 = 2.475 working days
        "indicator_2_2_days": 2.48, "late_percent": 40.0, "ratings_total": 0, "ratings_satisfied": 0, "satisfaction_percent": None,
        "received_digitised": 0, "digitised_percent": 0.0}
    assert counts(row_of(report, "NAHANG")) == {
        "carried_over": 0, "received_new": 1, "received_by_channel": {"1": 1, "2": 0, "3": 0}, "received_total": 1,
        "finished_early": 1, "finished_on_time": 0, "finished_late": 0, "finished_total": 1,
        "ended_without_result": 0, "pending_within_limit": 0, "pending_overdue": 0, "pending_total": 0,
        "indicator_2_1": 100.0, "indicator_2_2_days": 0.88, "late_percent": 0.0, "ratings_total": 0, "ratings_satisfied": 0, "satisfaction_percent": None,
        "received_digitised": 0, "digitised_percent": 0.0}
    total = report.total
    assert (total.carried_over, total.received_new, total.received_by_channel) == (1, 9, {"1": 3, "2": 4, "3": 2})
    assert (total.finished_early, total.finished_on_time, total.finished_late, total.ended_without_result) == (2, 2, 2, 1)
    assert (total.pending_within_limit, total.pending_overdue) == (2, 1)
    assert (total.indicator_2_1, total.indicator_2_2_days) == (66.7, 2.21)  # 106 h / 6
    assert total.satisfaction_percent is None and "đánh giá" in report.notes[0]  # no rating given yet
    for row in (*report.rows, total):  # every relevant dossier ends the period in exactly one state
        assert row.received_total == row.finished_total + row.ended_without_result + row.pending_total


def test_by_field_and_by_procedure_march(scenario):
    by_field = compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="field")
    assert [(r.key, r.label) for r in by_field.rows] == [("certification", "Chứng thực"), ("civil_status", "Hộ tịch")]
    civil, cert = row_of(by_field, "civil_status"), row_of(by_field, "certification")
    assert (civil.carried_over, civil.received_new, civil.received_by_channel) == (1, 6, {"1": 3, "2": 2, "3": 1})
    assert (civil.finished_early, civil.finished_on_time, civil.finished_late) == (2, 2, 1)
    assert (civil.pending_within_limit, civil.pending_overdue, civil.ended_without_result) == (1, 1, 0)
    assert (civil.indicator_2_1, civil.indicator_2_2_days) == (80.0, 2.23)  # 89 h / 5 = 2.225
    assert (cert.carried_over, cert.received_new, cert.received_by_channel) == (0, 3, {"1": 0, "2": 2, "3": 1})
    assert (cert.finished_early, cert.finished_on_time, cert.finished_late) == (0, 0, 1)
    assert (cert.pending_within_limit, cert.pending_overdue, cert.ended_without_result) == (1, 0, 1)
    assert (cert.indicator_2_1, cert.indicator_2_2_days, cert.late_percent) == (0.0, 2.13, 100.0)  # 17 h

    by_procedure = compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="procedure")
    assert [(r.key, r.label) for r in by_procedure.rows] == [
        ("9.000001", "Thủ tục thử nghiệm"), ("9.000002", "Chứng thực thử nghiệm")]
    assert counts(row_of(by_procedure, "9.000001")) == counts(civil)
    assert counts(row_of(by_procedure, "9.000002")) == counts(cert)
    assert counts(by_procedure.total) == counts(by_field.total)


def test_by_officer_counts_steps(scenario):
    report = compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="officer")
    assert [(r.key, r.label) for r in report.rows] == [
        ("-", "(chưa có người nhận xử lý)"), ("chair", "Chair"), ("clerk", "Clerk"), ("nh_chair", "Nh_Chair"),
        ("nh_clerk", "Nh_Clerk"), ("nh_officer", "Nh_Officer"), ("officer", "Officer")]
    clerk = row_of(report, "clerk")
    # receive of A (carried over, late); receive of B C D K I (on time) and returns of B K A C (on time);
    # receive of E (never done) and of F (done in April) are overdue at Tue 31/3 17:00.
    assert (clerk.carried_over, clerk.received_new, clerk.received_by_channel) == (1, 11, {"1": 3, "2": 6, "3": 2})
    assert (clerk.finished_early, clerk.finished_on_time, clerk.finished_late) == (0, 9, 1)
    assert (clerk.pending_within_limit, clerk.pending_overdue) == (0, 2)
    officer = row_of(report, "officer")
    # appraise: A B D(1st) early, I on time (done exactly at its due instant), C D(2nd) K late
    assert (officer.carried_over, officer.received_new, officer.received_by_channel) == (0, 7, {"1": 3, "2": 3, "3": 1})
    assert (officer.finished_early, officer.finished_on_time, officer.finished_late) == (3, 1, 3)
    assert (officer.indicator_2_1, officer.indicator_2_2_days) == (57.1, 1.32)  # 74 h / 7
    chair = row_of(report, "chair")
    assert (chair.received_new, chair.finished_early, chair.finished_on_time, chair.finished_late) == (5, 1, 4, 0)
    unassigned = row_of(report, "-")  # D's result waits at the desk, nobody has claimed it
    assert (unassigned.received_new, unassigned.pending_overdue, unassigned.finished_total) == (1, 1, 0)
    for name in ("nh_clerk", "nh_officer", "nh_chair"):
        assert row_of(report, name).finished_on_time == (2 if name == "nh_clerk" else 1)
    assert report.total.ended_without_result == 0
    assert report.total.received_total == report.total.finished_total + report.total.pending_total


def test_next_quarter_carries_over_and_judges_a_running_period_now(scenario):
    report = compute_statistics(scenario.rt, SYSTEM, period="2026-Q2", group_by="commune", unit_code="TRIPHU")
    assert report.as_of == scenario.clock.now()  # Q2 is still running on 10/4
    [row] = report.rows
    # E, I, F open on 1/4; F finished late on 2/4; E overdue, I still waiting on the citizen
    assert (row.carried_over, row.received_new, row.finished_late, row.finished_total) == (3, 0, 1, 1)
    assert (row.pending_within_limit, row.pending_overdue) == (1, 1)
    first_quarter = compute_statistics(scenario.rt, SYSTEM, period="2026-Q1", group_by="commune", unit_code="TRIPHU")
    [q1] = first_quarter.rows
    assert (q1.carried_over, q1.received_new, q1.finished_early, q1.finished_total) == (0, 10, 2, 6)
    assert (q1.pending_within_limit, q1.pending_overdue, q1.ended_without_result) == (2, 1, 1)


def test_more_than_one_supplementation_request_counts_late(scenario):
    """The service allows one request per processing unit; a dossier handled by several
    units (or imported) can carry more, and §7 then counts it late whatever its dates."""
    engine = scenario.rt.db.engine
    with engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.id == scenario.ids["B"]).values(supplement_count=2))
    try:
        report = compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="commune", unit_code="TRIPHU")
        [row] = report.rows
        assert (row.finished_early, row.finished_on_time, row.finished_late) == (0, 2, 3)
    finally:
        with engine.begin() as conn:
            conn.execute(update(Dossier).where(Dossier.id == scenario.ids["B"]).values(supplement_count=0))


def keys(report):
    return [r.key for r in report.rows]


def test_who_sees_what(scenario):
    rt, world = scenario.rt, scenario.world
    for name, expected, received in (("chair", ["TRIPHU"], 8), ("vice", ["TRIPHU"], 8), ("nh_chair", ["NAHANG"], 1),
                                     ("admin", ["NAHANG", "TRIPHU"], 9)):
        report = compute_statistics(rt, world.actor(name), period="2026-03", group_by="commune")
        assert keys(report) == expected, name
        assert report.total.received_new == received, name
    nh = compute_statistics(rt, world.actor("nh_chair"), period="2026-03", group_by="officer")
    assert set(keys(nh)) == {"nh_clerk", "nh_officer", "nh_chair"}
    assert keys(compute_statistics(rt, SYSTEM, period="2026", group_by="commune")) == ["NAHANG", "TRIPHU"]
    only = compute_statistics(rt, world.actor("admin"), period="2026-03", group_by="field", unit_code="NAHANG")
    assert keys(only) == ["civil_status"] and only.unit_code == "NAHANG" and only.total.received_new == 1
    empty = compute_statistics(rt, world.actor("chair"), period="2025", group_by="commune")
    assert keys(empty) == ["TRIPHU"]  # a commune with nothing to report still has its line
    assert (empty.total.received_total, empty.total.indicator_2_1, empty.total.indicator_2_2_days) == (0, None, None)
    assert compute_statistics(rt, SYSTEM, period="2025", group_by="field").rows == []


def test_users_without_stats_view_are_refused(scenario):
    for name in ("clerk", "officer", "consultant", "nh_clerk"):
        with pytest.raises(PermissionDenied):
            compute_statistics(scenario.rt, scenario.actor(name), period="2026-03", group_by="commune")
        with pytest.raises(PermissionDenied):  # naming a commune does not change that
            compute_statistics(scenario.rt, scenario.actor(name), period="2026-03", group_by="field",
                               unit_code="TRIPHU")


def test_other_communes_are_not_found(scenario):
    world = scenario.world
    with pytest.raises(NotFound):
        compute_statistics(world.rt, world.actor("chair"), period="2026-03", group_by="field", unit_code="NAHANG")
    with pytest.raises(NotFound):
        compute_statistics(world.rt, world.actor("admin"), period="2026-03", group_by="field", unit_code="NOWHERE")
    with pytest.raises(InvalidInput) as err:
        compute_statistics(world.rt, world.actor("admin"), period="2026-03", group_by="field", unit_code="TQ")
    assert err.value.problems[0].field == "unit_code"




def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.postgres
def test_province_report_reads_the_finished_dossiers_once_from_the_covering_index(scenario):
    """At a province's size the report's cost is the rows it visits (docs/performance.md,
    "Statistics and the dossier page"). The plans, with sequential scans priced out as
    on a large table: indicator 2.2's pass reads `dossiers` once, index-only through
    `ix_dossiers_finished_cover` (migration 0014), and the counting pass does not use that
    index; the figures are those of the scenario."""
    from sqlalchemy import event

    statements = []

    def capture(conn, cursor, statement, params, context, executemany):
        statements.append((statement, params))

    engine = scenario.rt.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        report = compute_statistics(scenario.rt, scenario.actor("admin"), period="2026-03", group_by="commune")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert (report.total.finished_total, report.total.pending_overdue, report.total.pending_within_limit) == (6, 1, 2)
    [measured] = [(s, p) for s, p in statements if "dossiers.finished_at AS ended" in s]
    [counting] = [(s, p) for s, p in statements if "dossiers.received_at <" in s and "GROUP BY dossiers.org_unit_id" in s
                  and "satisfaction_ratings" not in s]
    with engine.connect() as conn:
        # a partition (dossiers by year, migration 0019) and its copy of an index by their parents' names
        parents = dict(conn.execute(text(
            "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent")).all())
        partitions = sum(1 for child, parent in parents.items() if parent == "dossiers") or 1
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plans = {}
        for name, (statement, params) in (("measured", measured), ("counting", counting)):
            raw = conn.connection.driver_connection.execute("EXPLAIN (FORMAT JSON) " + statement, params)
            plans[name] = [{**node, **{key: parents.get(node[key], node[key])
                                       for key in ("Relation Name", "Index Name") if key in node}}
                           for node in _plan_nodes(raw.fetchone()[0][0]["Plan"])]
        conn.rollback()
    dossier_scans = [n for n in plans["measured"] if n.get("Relation Name") == "dossiers"]
    assert [(n["Node Type"], n["Index Name"]) for n in dossier_scans] == [
        ("Index Only Scan", "ix_dossiers_finished_cover")] * partitions  # each partition read once
    # the counting pass's open-ended test is a filter, never a range of the finished-at index
    assert not [n for n in plans["counting"] if n.get("Index Name") == "ix_dossiers_finished_cover"]
