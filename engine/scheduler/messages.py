"""What each escalation level says, in Vietnamese and English (docs/domain.md §6)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain.calendar import VN_TZ


@dataclass(frozen=True)
class Message:
    kind: str
    title_vi: str
    title_en: str
    body_vi: str
    body_en: str
    actions: tuple[str, ...] = ()


def _local(at: datetime | None) -> str:
    return at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if at is not None else "-"


def task_message(level: str, *, step: str, dossier_code: str, due_at: datetime | None, remind_at: float,
                 assignee: str | None) -> Message:
    who_vi = f"người xử lý: {assignee}" if assignee else "chưa có người nhận xử lý"
    who_en = f"assignee: {assignee}" if assignee else "not claimed yet"
    due = _local(due_at)
    if level == "remind":
        pct = round(remind_at * 100)
        return Message(
            "task.remind",
            f"Nhắc việc: bước «{step}» của hồ sơ {dossier_code}",
            f"Reminder: step '{step}' of dossier {dossier_code}",
            f"Đã dùng {pct}% thời gian của bước «{step}». Hạn xử lý: {due} ({who_vi}).",
            f"{pct}% of the working time of step '{step}' is used. Due: {due} ({who_en}).",
        )
    if level == "warn":
        return Message(
            "task.warn",
            f"Đến hạn: bước «{step}» của hồ sơ {dossier_code}",
            f"Step due: '{step}' of dossier {dossier_code}",
            f"Bước «{step}» đã hết thời gian xử lý lúc {due} mà chưa hoàn thành ({who_vi}).",
            f"Step '{step}' reached its due instant {due} and is not finished ({who_en}).",
        )
    if level == "overdue":
        return Message(
            "task.overdue",
            f"Quá hạn: bước «{step}» của hồ sơ {dossier_code}",
            f"Overdue: step '{step}' of dossier {dossier_code}",
            f"Bước «{step}» quá hạn (hạn {due}; {who_vi}). Có thể giao lại cho cán bộ khác.",
            f"Step '{step}' is overdue (due {due}; {who_en}). It can be reassigned to another officer.",
            ("reassign",),
        )
    raise ValueError(f"unknown task level {level!r}")


def apology_message(*, dossier_code: str, applicant: str, due_at: datetime) -> Message:
    due = _local(due_at)
    return Message(
        "dossier.apology_due",
        f"Cần gửi phiếu xin lỗi và hẹn lại: hồ sơ {dossier_code}",
        f"Apology letter due: dossier {dossier_code}",
        f"Hồ sơ {dossier_code} ({applicant}) có nguy cơ trễ hẹn {due}. Hãy phát hành phiếu xin lỗi và hẹn lại "
        f"ngày trả kết quả (mẫu 04) chậm nhất 1 ngày làm việc trước hạn.",
        f"Dossier {dossier_code} ({applicant}) is at risk of missing its appointment {due}. Issue the apology "
        f"letter with a new appointment (form 04) at least 1 working day before the due date.",
        ("issue_apology",),
    )
