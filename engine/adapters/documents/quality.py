"""Quality system documents (docs/iso.md): the internal audit report (ISO 9001 9.2) and
the management review pack (9.3), as self-contained HTML and A4 PDF. They take the read
models' views (`engine.views.quality`) as plain data."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.domain import quality as rules
from engine.errors import InvalidInput

from engine.views.quality import get_audit, review_pack

from .render import render, to_pdf
from .text import format_duration

if TYPE_CHECKING:
    from engine.views.quality import AuditView, ReviewPack

FINDING_LABELS = {"conformity": "Phù hợp", "observation": "Khuyến nghị", "nonconformity": "Không phù hợp"}
NC_STATE_LABELS = {"open": "Mới ghi nhận", "action_planned": "Đang khắc phục", "verifying": "Chờ đánh giá hiệu lực",
                   "closed": "Đã đóng"}
SOURCE_LABELS = {"late_dossier": "Hồ sơ quá hạn", "apology": "Phiếu xin lỗi, hẹn lại", "complaint": "Phản ánh, kiến nghị",
                 "audit_finding": "Đánh giá nội bộ", "manual": "Cán bộ ghi nhận"}
VERDICT_LABELS = {"met": "Đạt", "not_met": "Không đạt", "no_data": "Chưa có số liệu"}
CLASSIFICATION_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn", None: ""}
RISK_LEVEL_LABELS = {"high": "Cao", "medium": "Trung bình", "low": "Thấp"}


def _output(html: str, fmt: str) -> str | bytes:
    if fmt == "html":
        return html
    if fmt == "pdf":
        return to_pdf(html)
    raise InvalidInput(f"format must be html or pdf, not {fmt!r}", f"định dạng phải là html hoặc pdf, không phải {fmt!r}",
                       code="bad_format")


def _labels() -> dict:
    return {"FINDING_LABELS": FINDING_LABELS, "NC_STATE_LABELS": NC_STATE_LABELS, "SOURCE_LABELS": SOURCE_LABELS,
            "VERDICT_LABELS": VERDICT_LABELS, "CLASSIFICATION_LABELS": CLASSIFICATION_LABELS,
            "RISK_LEVEL_LABELS": RISK_LEVEL_LABELS, "MEASURES": rules.MEASURES}


def render_audit_report(audit: "AuditView", fmt: str = "html", *, printed_at: datetime) -> str | bytes:
    durations = {c["step"]: format_duration(timedelta(seconds=c["duration_seconds"])) for c in audit.checklist}
    return _output(render("quality_audit.html", a=audit, printed_at=printed_at, durations=durations, **_labels()), fmt)


def render_review_pack(pack: "ReviewPack", fmt: str = "html") -> str | bytes:
    return _output(render("quality_review.html", p=pack, **_labels()), fmt)


def audit_report(rt, actor, audit_id: int, fmt: str = "html") -> bytes | str:
    """The audit report as a self-contained HTML document or an A4 PDF."""
    return render_audit_report(get_audit(rt, actor, audit_id), fmt, printed_at=rt.clock.now())


def review_document(rt, actor, review_id: int, fmt: str = "html") -> bytes | str:
    """The review pack as a self-contained HTML document or an A4 PDF."""
    return render_review_pack(review_pack(rt, actor, review_id), fmt)
