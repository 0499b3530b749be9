"""The dossier aggregate's rules without a database or a workflow engine
(engine.domain.dossier): every rule of the lifecycle on plain objects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from engine.domain.calendar import VN_TZ, WORKING_DAY, WorkingCalendar, WorkingTimeLimit
from engine.domain.dossier import MAX_SUPPLEMENTATION_REQUESTS, Dossier, OpenedStep, Step, is_working_instant
from engine.domain.lifecycle import DossierState, Outcome, PauseKind, Result, Status, StepClock, StepState
from engine.errors import Conflict, InvalidInput

CAL = WorkingCalendar()
LIMIT = WorkingTimeLimit(3 * WORKING_DAY)  # P3D


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


RECEIVED = at(2026, 3, 3, 10, 0)  # Tue; due Fri 6 10:00


@dataclass(frozen=True)
class Definition:
    """A model's human step, as `ProcedureModel.steps[bpmn_id]` offers it."""

    bpmn_id: str
    name: str = "Bước"
    role: str = "justice_officer"
    duration: timedelta = timedelta(hours=4)
    form: str | None = None
    status: int = Status.PROCESSING
    clock: str = StepClock.RUNNING


RECEIVE = Definition("receive", "Tiếp nhận", role="one_stop_clerk", duration=timedelta(hours=2))
APPRAISE = Definition("appraise", "Thẩm định", duration=WORKING_DAY)
SUPPLEMENT = Definition("citizen_supplement", "Công dân bổ sung", role="one_stop_clerk", duration=timedelta(0),
                        status=Status.SUPPLEMENTATION, clock=StepClock.PAUSED)
FEE = Definition("pay_fee", "Nộp lệ phí", role="one_stop_clerk", duration=timedelta(0),
                 status=Status.FINANCIAL_OBLIGATION, clock=StepClock.PAUSED)
RETURN = Definition("return_result", "Trả kết quả", role="one_stop_clerk", duration=timedelta(hours=2),
                    status=Status.PROCESSED)


class Flow:
    """Plays the workflow engine's part: opens and removes steps on the aggregate."""

    def __init__(self, now: datetime = RECEIVED) -> None:
        self.dossier = Dossier(id=1, code="TRIPHU-260303-0001", org_unit_id=7, applicant_name=" Nguyễn Văn An ",
                               channel=1)
        self.dossier.receive(now=now, calendar=CAL, limit=LIMIT)
        self.ids = 0

    def open(self, *definitions: Definition, now: datetime, done: Step | None = None, finished: bool = False,
             reason: str | None = None) -> list[Step]:
        vanished = [done.workflow_task_id] if done is not None else []
        opened = [OpenedStep(f"w{self.ids + i}", d) for i, d in enumerate(definitions)]
        created = self.dossier.apply_workflow(opened=opened, vanished=vanished, workflow_finished=finished, now=now,
                                              calendar=CAL, limit=LIMIT, handed_over_by=None, pause_reason=reason)
        for step in created:
            self.ids += 1
            step.id = self.ids
        return created

    def complete(self, step: Step, now: datetime, data: dict | None = None, *, user_id: int | None = 5,
                 then: tuple[Definition, ...] = (), finished: bool = False, reason: str | None = None) -> list[Step]:
        self.dossier.complete_step(step, user_id=user_id, data=data or {}, now=now, calendar=CAL)
        return self.open(*then, now=now, done=step, finished=finished, reason=reason)


# --- receipt -------------------------------------------------------------------------


def test_receipt_sets_status_appointment_and_refuses_bad_entries():
    d = Flow().dossier
    assert (d.status_code, d.state, d.applicant_name) == (Status.RECEIVED, DossierState.OPEN, "Nguyễn Văn An")
    assert d.due_at == d.original_due_at == at(2026, 3, 6, 10, 0)
    with pytest.raises(InvalidInput) as err:
        Dossier.check_receipt("  ", 4)
    assert {p.field for p in err.value.problems} == {"applicant.name", "channel"}


# --- claiming ------------------------------------------------------------------------


def test_claim_is_a_no_op_for_the_holder_and_refused_for_another():
    flow = Flow()
    [step] = flow.open(RECEIVE, now=RECEIVED)
    assert step.claim(5) is True and step.assignee_id == 5
    assert step.claim(5) is False and step.assignee_id == 5  # nothing to write, nothing to log
    with pytest.raises(Conflict) as err:
        step.claim(6)
    assert err.value.code == "already_claimed"
    with pytest.raises(Conflict):
        step.unclaim(6)
    step.unclaim(5)
    assert step.assignee_id is None
    assert step.reassign(9) is None and step.assignee_id == 9


def test_a_closed_step_says_so_in_each_language():
    flow = Flow()
    [step] = flow.open(RECEIVE, now=RECEIVED)
    flow.complete(step, RECEIVED, then=(APPRAISE,))
    for action in (lambda: step.claim(5), lambda: step.reassign(5), lambda: step.require_performer(5)):
        with pytest.raises(Conflict) as err:
            action()
        assert err.value.code == "task_closed"
        assert "đã hoàn thành" in err.value.message_vi and "completed" not in err.value.message_vi
        assert "already completed" in err.value.message_en


def test_a_step_claimed_by_another_is_not_completed_by_me():
    flow = Flow()
    [step] = flow.open(RECEIVE, now=RECEIVED)
    step.claim(6)
    with pytest.raises(Conflict) as err:
        flow.complete(step, RECEIVED, user_id=5)
    assert err.value.code == "claimed_by_other"
    flow.complete(step, RECEIVED, user_id=None, then=(APPRAISE,))  # a system actor acts for anyone


# --- status derived from the open steps ----------------------------------------------


def test_status_follows_the_open_steps():
    flow = Flow()
    d = flow.dossier
    [receive] = flow.open(RECEIVE, now=RECEIVED)
    assert d.status_code == Status.RECEIVED and receive.due_at == at(2026, 3, 3, 14, 0)  # lunch does not count
    [appraise] = flow.complete(receive, at(2026, 3, 3, 11, 0), then=(APPRAISE,))
    assert d.status_code == Status.PROCESSING and receive.classification == "on_time"
    assert appraise.due_at == at(2026, 3, 4, 11, 0)
    [waiting] = flow.complete(appraise, at(2026, 3, 3, 15, 0), {"outcome": "supplement"}, then=(SUPPLEMENT,),
                              reason="Thiếu giấy chứng sinh")
    assert d.status_code == Status.SUPPLEMENTATION and waiting.due_at is None
    [pause] = d.pauses
    assert (pause.kind, pause.reason, pause.step, pause.ended_at) == (PauseKind.SUPPLEMENTATION,
                                                                      "Thiếu giấy chứng sinh", waiting, None)
    assert d.allowed_actions() >= {"dossier.supplement"}
    # back two working days later: the appointment moves by 16 working hours
    [appraise] = flow.complete(waiting, at(2026, 3, 5, 15, 0), then=(APPRAISE,))
    assert pause.ended_at == at(2026, 3, 5, 15, 0)
    assert d.status_code == Status.PROCESSING and d.due_at == at(2026, 3, 10, 10, 0)
    [fee] = flow.complete(appraise, at(2026, 3, 6, 9, 0), {"outcome": "approve"}, then=(FEE,))
    assert d.status_code == Status.FINANCIAL_OBLIGATION and d.pauses[-1].kind == PauseKind.FINANCIAL_OBLIGATION
    [ret] = flow.complete(fee, at(2026, 3, 6, 9, 0), then=(RETURN,))  # paid at the desk: nothing paused
    assert d.due_at == at(2026, 3, 10, 10, 0)
    assert (d.status_code, d.finished_at, d.result, d.classification) == (
        Status.PROCESSED, at(2026, 3, 6, 9, 0), Result.GRANTED, "early")
    flow.complete(ret, at(2026, 3, 6, 10, 0), finished=True)
    assert (d.status_code, d.state, d.returned_at) == (Status.RETURNED, DossierState.CLOSED, at(2026, 3, 6, 10, 0))
    assert d.allowed_actions() == frozenset()


def test_a_paused_status_wins_over_running_steps_and_the_lowest_paused_code_shows():
    flow = Flow()
    [receive] = flow.open(RECEIVE, now=RECEIVED)
    flow.complete(receive, RECEIVED, then=(APPRAISE, FEE, SUPPLEMENT))
    assert flow.dossier.status_code == Status.SUPPLEMENTATION


def test_open_running_steps_wait_as_long_as_the_dossier_did():
    flow = Flow()
    [receive] = flow.open(RECEIVE, now=RECEIVED)
    appraise, waiting = flow.complete(receive, RECEIVED, then=(APPRAISE, SUPPLEMENT))
    assert appraise.due_at == at(2026, 3, 4, 10, 0)
    flow.complete(waiting, at(2026, 3, 3, 16, 0))  # 4 working hours paused (lunch excluded)
    assert appraise.due_at == at(2026, 3, 4, 16, 0)


@pytest.mark.parametrize("finished, expected", [
    (at(2026, 3, 5, 16, 0), "early"),  # a working day before the due day
    (at(2026, 3, 6, 10, 0), "on_time"),  # on the due instant
    (at(2026, 3, 6, 10, 1), "late"),
])
def test_classification_of_a_finished_dossier_and_step(finished, expected):
    flow = Flow()
    [receive] = flow.open(Definition("receive", duration=3 * WORKING_DAY), now=RECEIVED)
    flow.complete(receive, finished, {"outcome": "approve"}, then=(RETURN,))
    assert receive.classification == expected and flow.dossier.classification == expected


def test_the_last_decision_says_refused_and_its_reason_is_the_end_reason():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    [ret] = flow.complete(appraise, at(2026, 3, 4, 9, 0), {"outcome": "refuse", "refusal_reason": " Không đủ tuổi "},
                          then=(RETURN,))
    d = flow.dossier
    assert (d.status_code, d.result, d.end_reason) == (Status.PROCESSED, Result.REFUSED, "Không đủ tuổi")
    assert d.allowed_actions() == {"dossier.return_result", "dossier.withdraw", "dossier.stop"}
    flow.complete(ret, at(2026, 3, 4, 10, 0), {"reason": "Không đủ tuổi", "delivery": "in_person"}, finished=True)
    assert (d.status_code, d.end_reason) == (Status.RETURNED, "Không đủ tuổi")


def test_a_refusal_without_a_reason_on_its_step_takes_the_return_forms_reason():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    [ret] = flow.complete(appraise, RECEIVED, {"outcome": "refuse"}, then=(RETURN,))
    assert flow.dossier.end_reason is None
    flow.complete(ret, RECEIVED, {"reason": "Không thuộc thẩm quyền", "delivery": "post"}, finished=True)
    assert flow.dossier.end_reason == "Không thuộc thẩm quyền"


# --- supplementation ------------------------------------------------------------------


def test_supplementation_is_requested_once_only():
    assert MAX_SUPPLEMENTATION_REQUESTS == 1
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    [waiting] = flow.complete(appraise, RECEIVED, {"outcome": Outcome.SUPPLEMENT}, then=(SUPPLEMENT,))
    assert flow.dossier.supplement_count == 1
    [appraise] = flow.complete(waiting, at(2026, 3, 4, 8, 0), then=(APPRAISE,))
    with pytest.raises(Conflict) as err:
        flow.complete(appraise, at(2026, 3, 4, 9, 0), {"outcome": "supplement"})
    assert err.value.code == "supplementation_limit"
    assert flow.dossier.supplement_count == 1 and appraise.state == StepState.OPEN


def test_the_waiting_and_result_steps():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    with pytest.raises(Conflict) as err:
        flow.dossier.waiting_step()
    assert err.value.code == "not_paused"
    with pytest.raises(Conflict) as err:
        flow.dossier.result_step()
    assert err.value.code == "no_result_ready"
    [ret] = flow.complete(appraise, RECEIVED, {"outcome": "approve"}, then=(RETURN,))
    assert flow.dossier.result_step() is ret


# --- endings -------------------------------------------------------------------------


def test_refuse_withdraw_and_stop():
    refused, withdrawn, stopped = Flow(), Flow(), Flow()
    for flow in (refused, withdrawn, stopped):
        flow.open(APPRAISE, now=RECEIVED)
    with pytest.raises(InvalidInput) as err:
        refused.dossier.end(Result.REFUSED, "  ", now=RECEIVED, calendar=CAL)
    assert err.value.code == "reason_required"
    refused.dossier.end(Result.REFUSED, " Không đủ điều kiện ", now=at(2026, 3, 4, 9, 0), calendar=CAL)
    d = refused.dossier
    assert (d.status_code, d.state, d.result, d.end_reason, d.classification) == (
        Status.PROCESSED, DossierState.OPEN, Result.REFUSED, "Không đủ điều kiện", "early")
    assert [t.state for t in d.tasks] == [StepState.CANCELLED]
    assert d.allowed_actions() == {"dossier.return_result", "dossier.withdraw", "dossier.stop"}
    assert d.result_step() is None
    d.hand_over_refusal(now=at(2026, 3, 4, 10, 0), data={"reason": "x", "delivery": "in_person"})
    assert (d.status_code, d.state, d.end_reason) == (Status.RETURNED, DossierState.CLOSED, "Không đủ điều kiện")
    withdrawn.dossier.end(Result.WITHDRAWN, "Công dân xin rút", now=RECEIVED, calendar=CAL)
    stopped.dossier.end(Result.STOPPED, "Dừng theo yêu cầu", now=RECEIVED, calendar=CAL)
    assert (withdrawn.dossier.status_code, stopped.dossier.status_code) == (Status.WITHDRAWN, Status.STOPPED)
    for d in (withdrawn.dossier, stopped.dossier):
        assert d.state == DossierState.CLOSED and d.allowed_actions() == frozenset()
        with pytest.raises(Conflict) as err:
            d.end(Result.STOPPED, "lần nữa", now=RECEIVED, calendar=CAL)
        assert err.value.code == "dossier_closed" and "closed" not in err.value.message_vi


def test_refuse_not_after_processed():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    flow.complete(appraise, RECEIVED, {"outcome": "approve"}, then=(RETURN,))
    with pytest.raises(Conflict) as err:
        flow.dossier.end(Result.REFUSED, "Đổi ý", now=RECEIVED, calendar=CAL)
    assert err.value.code == "already_processed"
    assert "dossier.refuse" not in flow.dossier.allowed_actions()
    with pytest.raises(Conflict):  # a granted result is handed over by its step, not as a refusal
        flow.dossier.hand_over_refusal(now=RECEIVED, data={})


# --- the apology letter --------------------------------------------------------------


def test_apology_once_and_only_before_processing_is_finished():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    d = flow.dossier
    assert "dossier.apology" in d.allowed_actions()
    in_time = d.issue_apology("Chờ xác minh", at(2026, 3, 12, 10, 0), now=at(2026, 3, 4, 9, 0), calendar=CAL,
                              limit=LIMIT)
    assert in_time is True and "dossier.apology" not in d.allowed_actions()
    with pytest.raises(Conflict) as err:
        d.issue_apology("Lần nữa", at(2026, 3, 20, 10, 0), now=at(2026, 3, 4, 9, 0), calendar=CAL, limit=LIMIT)
    assert err.value.code == "apology_limit"
    done = Flow()
    [appraise] = done.open(APPRAISE, now=RECEIVED)
    done.complete(appraise, RECEIVED, {"outcome": "approve"}, then=(RETURN,))
    with pytest.raises(Conflict) as err:
        done.dossier.issue_apology("x", at(2026, 3, 12, 10, 0), now=RECEIVED, calendar=CAL, limit=LIMIT)
    assert err.value.code == "already_processed"


def test_apology_flagged_late_less_than_a_working_day_before_the_appointment():
    d = Flow().dossier
    assert d.issue_apology("x", at(2026, 3, 12, 10, 0), now=at(2026, 3, 5, 11, 0), calendar=CAL, limit=LIMIT) is False


def test_apology_appointment_must_be_later_and_a_working_instant():
    d = Flow().dossier
    with pytest.raises(InvalidInput) as err:
        d.issue_apology("x", at(2026, 3, 6, 10, 0), now=RECEIVED, calendar=CAL, limit=LIMIT)
    assert err.value.code == "bad_new_due"
    with pytest.raises(InvalidInput) as err:  # a Sunday 03:00
        d.issue_apology("x", at(2026, 3, 8, 3, 0), now=RECEIVED, calendar=CAL, limit=LIMIT)
    assert err.value.code == "not_working_time"
    [problem] = err.value.problems
    assert problem.field == "new_due_at" and "07:00 09/03/2026" in problem.message_vi
    assert "07:00 09/03/2026" in problem.message_en and "2026-03-09T07:00:00+07:00" in problem.hint
    with pytest.raises(InvalidInput) as err:  # lunch break
        d.issue_apology("x", at(2026, 3, 9, 12, 0), now=RECEIVED, calendar=CAL, limit=LIMIT)
    with pytest.raises(InvalidInput) as err:
        d.issue_apology(" ", at(2026, 3, 9, 9, 0).replace(tzinfo=None), now=RECEIVED, calendar=CAL, limit=LIMIT)
    assert {p.field for p in err.value.problems} == {"reason", "new_due_at"}
    assert d.apology_issued_at is None and d.due_at == at(2026, 3, 6, 10, 0)


@pytest.mark.parametrize("instant, working", [
    (at(2026, 3, 9, 7, 0), True), (at(2026, 3, 9, 11, 30), True), (at(2026, 3, 9, 12, 0), False),
    (at(2026, 3, 9, 13, 30), True), (at(2026, 3, 9, 17, 0), True), (at(2026, 3, 9, 17, 1), False),
    (at(2026, 3, 8, 10, 0), False), (at(2026, 4, 30, 10, 0), False),  # Sunday; Reunification Day
])
def test_working_instants_include_session_starts_and_closes(instant, working):
    assert is_working_instant(CAL, instant) is working


@pytest.mark.parametrize("new_due", [at(2026, 3, 12, 13, 30), at(2026, 3, 12, 17, 0), at(2026, 3, 12, 10, 0)])
def test_the_new_appointment_is_stored_as_given_and_is_the_deadline(new_due):
    d = Flow().dossier
    given = new_due.astimezone(timezone.utc)  # stored as given, in the zone it came in
    d.issue_apology("Chờ xác minh", given, now=at(2026, 3, 4, 16, 0), calendar=CAL, limit=LIMIT)
    assert d.apology_due_at == given and d.due_at == given
    assert d.original_due_at == at(2026, 3, 6, 10, 0)


def test_later_pauses_still_move_the_new_appointment_and_classification_uses_it():
    flow = Flow()
    d = flow.dossier
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    d.issue_apology("Chờ xác minh", at(2026, 3, 12, 10, 0), now=at(2026, 3, 4, 16, 0), calendar=CAL, limit=LIMIT)
    [waiting] = flow.complete(appraise, at(2026, 3, 5, 9, 0), {"outcome": "supplement"}, then=(SUPPLEMENT,))
    [appraise] = flow.complete(waiting, at(2026, 3, 6, 9, 0), then=(APPRAISE,))  # one working day paused
    assert d.due_at == at(2026, 3, 13, 10, 0) and d.apology_due_at == at(2026, 3, 12, 10, 0)
    # finished after the original appointment but before the new one: on time against the new one
    flow.complete(appraise, at(2026, 3, 13, 9, 0), {"outcome": "approve"}, then=(RETURN,))
    assert (d.finished_at, d.classification) == (at(2026, 3, 13, 9, 0), "on_time")


def test_a_pause_before_the_apology_does_not_move_the_new_appointment():
    flow = Flow()
    d = flow.dossier
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    [waiting] = flow.complete(appraise, at(2026, 3, 3, 11, 0), {"outcome": "supplement"}, then=(SUPPLEMENT,))
    flow.complete(waiting, at(2026, 3, 4, 11, 0), then=(APPRAISE,))
    assert d.due_at == at(2026, 3, 9, 10, 0)
    d.issue_apology("Chờ xác minh", at(2026, 3, 12, 10, 0), now=at(2026, 3, 5, 9, 0), calendar=CAL, limit=LIMIT)
    assert d.due_at == at(2026, 3, 12, 10, 0)


# --- what a screen offers --------------------------------------------------------------


def test_allowed_actions_per_state():
    flow = Flow()
    d = flow.dossier
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    assert d.allowed_actions() == {"dossier.withdraw", "dossier.stop", "dossier.refuse", "dossier.apology"}
    [waiting] = flow.complete(appraise, RECEIVED, {"outcome": "supplement"}, then=(SUPPLEMENT,))
    assert d.allowed_actions() == {"dossier.withdraw", "dossier.stop", "dossier.refuse", "dossier.apology",
                                   "dossier.supplement"}
    [appraise] = flow.complete(waiting, RECEIVED, then=(APPRAISE,))
    flow.complete(appraise, RECEIVED, {"outcome": "approve"}, then=(RETURN,))
    assert d.allowed_actions() == {"dossier.withdraw", "dossier.stop", "dossier.return_result"}


def test_the_aggregate_can_be_copied_from_a_read_model():
    flow = Flow()
    [appraise] = flow.open(APPRAISE, now=RECEIVED)
    flow.complete(appraise, RECEIVED, {"outcome": "supplement"}, then=(SUPPLEMENT,))
    for pause in flow.dossier.pauses:  # as the store writes it
        pause.task_id = pause.step.id
    copy = Dossier.from_attributes(flow.dossier)
    assert copy.allowed_actions() == flow.dossier.allowed_actions()
    assert copy.pauses[0].step is copy.tasks[-1]
