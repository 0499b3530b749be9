"""The short lists behind two kinds of feedback the statistics count: the citizen's
satisfaction rating of a dossier (ISO 9001 clause 9.1.2) and the officer's reason for a
late step. code -> (Vietnamese, English)."""
from __future__ import annotations

RATINGS: dict[str, tuple[str, str]] = {
    "very_satisfied": ("Rất hài lòng", "Very satisfied"),
    "satisfied": ("Hài lòng", "Satisfied"),
    "not_satisfied": ("Không hài lòng", "Not satisfied"),
}
SATISFIED_RATINGS = ("very_satisfied", "satisfied")

# "other" needs the free text
LATENESS_REASONS: dict[str, tuple[str, str]] = {
    "workload": ("Quá tải công việc", "Too much work at once"),
    "verification": ("Cần xác minh, thẩm tra thêm", "Needed further verification"),
    "coordination": ("Chờ cơ quan, đơn vị phối hợp", "Waiting on another agency"),
    "absence": ("Cán bộ vắng (nghỉ phép, công tác, ốm)", "Officer absent (leave, mission, illness)"),
    "system": ("Sự cố hệ thống, thiết bị", "System or equipment failure"),
    "other": ("Lý do khác", "Another reason"),
}
LATENESS_NOT_GIVEN = "not_given"  # late steps whose officer has not given a reason yet
LATENESS_NOT_GIVEN_LABEL = ("Chưa nêu lý do", "No reason given yet")
