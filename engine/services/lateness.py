"""Reasons for lateness: the officer responsible for a step that finished (or still
runs) past its due instant says why, from a short list plus free text. A separate use
case from completing the step, so the completion rules stay in one place
(engine.services.dossiers); the task page asks for the reason when the step is late.
The statistics break lateness down by reason and by step (docs/statistics.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.adapters.db.models import Dossier, LatenessReason, Task
from engine.audit import Actor
from engine.runtime import reading
from engine.domain.feedback import LATENESS_REASONS
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem, Unauthenticated

REASONS = LATENESS_REASONS
MAX_DETAIL = 1000


@dataclass(frozen=True)
class LatenessReasonView:
    task_id: int
    dossier_code: str
    step_name: str
    reason: str
    detail: str
    recorded_at: datetime


def is_late(task: Task, now: datetime) -> bool:
    """Completed past its due instant (classified late), or open with the due instant gone."""
    if task.state == "completed":
        return task.classification == "late"
    return task.state == "open" and task.due_at is not None and task.due_at < now


def record_lateness_reason(rt, actor: Actor, task_id: int, reason: str, detail: str = "") -> LatenessReasonView:
    """The responsible officer (who completed the step, or holds it while open) records
    why it is late. One reason per step: a second is refused."""
    if actor.user_id is None:
        raise Unauthenticated("sign in to give a reason", "hãy đăng nhập để nêu lý do", code="no_user")
    detail = (detail or "").strip()
    problems = []
    if reason not in REASONS:
        problems.append(Problem("bad_reason", "Hãy chọn một lý do trong danh sách.", "Choose a reason from the list.",
                                field="reason", hint=", ".join(REASONS)))
    elif reason == "other" and not detail:
        problems.append(Problem("detail_required", "Lý do khác: hãy ghi rõ lý do.", "Another reason: say which.",
                                field="detail"))
    if len(detail) > MAX_DETAIL:
        problems.append(Problem("detail_too_long", f"Tối đa {MAX_DETAIL} ký tự.", f"At most {MAX_DETAIL} characters.",
                                field="detail"))
    if problems:
        raise InvalidInput("the reason for lateness is not valid", "lý do chậm muộn chưa hợp lệ",
                           code="bad_lateness_reason", problems=problems)
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        task = s.get(Task, task_id)
        responsible = None if task is None else (task.completed_by_id if task.state == "completed" else task.assignee_id)
        if task is None:
            raise NotFound(f"task {task_id} not found", f"không tìm thấy công việc {task_id}", code="not_found")
        if responsible != actor.user_id:
            raise PermissionDenied("only the officer responsible for the step gives its reason for lateness",
                                   "chỉ cán bộ chịu trách nhiệm bước này mới nêu lý do chậm muộn",
                                   code="permission_denied", hint="the step's assignee, or who completed it")
        if not is_late(task, uow.now):
            raise Conflict(f"task {task_id} is not late", f"công việc {task_id} không bị chậm muộn", code="not_late",
                           hint="a reason is asked only for steps past their due instant")
        refused = Conflict(f"task {task_id} already has a reason for lateness",
                           f"công việc {task_id} đã có lý do chậm muộn", code="reason_exists",
                           hint="the first reason stands")
        if s.scalar(select(LatenessReason.id).where(LatenessReason.task_id == task_id)) is not None:
            raise refused
        row = LatenessReason(task_id=task.id, dossier_id=task.dossier_id, reason=reason, detail=detail,
                             recorded_by_id=actor.user_id, recorded_at=uow.now)
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise refused from None
        uow.log("task.lateness_reason", "task", task.id, org_unit_id=task.org_unit_id,
                after={"reason": reason, "detail": detail})
        code = s.scalar(select(Dossier.code).where(Dossier.id == task.dossier_id))
        uow.commit()
        return LatenessReasonView(task.id, code, task.name, reason, detail, uow.now)


def reason_needed(rt, actor: Actor, task_id: int) -> bool:
    """Whether the task page should ask this user for a reason: the step is late, the
    user is responsible for it and nobody gave a reason yet."""
    if actor.user_id is None:
        return False
    with reading(rt, actor) as uow:  # a read: shares the page's unit
        task = uow.session.get(Task, task_id)
        if task is None:
            return False
        responsible = task.completed_by_id if task.state == "completed" else task.assignee_id
        if responsible != actor.user_id or not is_late(task, uow.now):
            return False
        return uow.session.scalar(select(LatenessReason.id).where(LatenessReason.task_id == task_id)) is None


def late_steps_without_reason(rt, actor: Actor, limit: int = 20) -> list[tuple[int, str, str]]:
    """(task id, dossier code, step name) of the user's completed late steps that still
    lack a reason, newest first: the inbox reminds them."""
    if actor.user_id is None:
        return []
    with reading(rt, actor) as uow:  # a read: shares the page's unit
        rows = uow.session.execute(
            select(Task.id, Dossier.code, Task.name).join(Dossier, Dossier.id == Task.dossier_id)
            .outerjoin(LatenessReason, LatenessReason.task_id == Task.id)
            .where(Task.completed_by_id == actor.user_id, Task.state == "completed", Task.classification == "late",
                   LatenessReason.id.is_(None))
            .order_by(Task.completed_at.desc()).limit(limit)).all()
        return [(r[0], r[1], r[2]) for r in rows]
