"""The words of a dossier's lifecycle (docs/domain.md §3): one table per enum, each
member with its stored value, its Vietnamese label and its English label.

The enums are `int`/`str` valued, so what the database stores and the API returns is
unchanged (`Status.PROCESSED == 9`, `StepState.OPEN == "open"`), and messages take
their words from the labels instead of printing codes.
"""
from __future__ import annotations

from enum import IntEnum, StrEnum


class _Labelled:
    """A label in each language; `label("en")` or `label("vi")` (the default)."""

    vi: str
    en: str

    def label(self, language: str = "vi") -> str:
        return self.en if language == "en" else self.vi


class LabelledStr(_Labelled, StrEnum):
    def __new__(cls, value: str, vi: str, en: str) -> "LabelledStr":
        member = str.__new__(cls, value)
        member._value_ = value
        member.vi, member.en = vi, en
        return member


class Status(_Labelled, IntEnum):
    """National status codes used when syncing with the National Public Service Portal."""

    def __new__(cls, code: int, vi: str, en: str) -> "Status":
        member = int.__new__(cls, code)
        member._value_ = code
        member.vi, member.en = vi, en
        return member

    NEWLY_REGISTERED = 1, "Mới đăng ký", "Newly registered"
    RECEIVED = 2, "Đã tiếp nhận", "Received"
    NOT_RECEIVED = 3, "Không được tiếp nhận", "Not received"
    PROCESSING = 4, "Đang xử lý", "Processing"
    SUPPLEMENTATION = 5, "Yêu cầu bổ sung hồ sơ", "Supplementation requested"
    FINANCIAL_OBLIGATION = 6, "Chờ thực hiện nghĩa vụ tài chính", "Awaiting financial obligation"
    WITHDRAWN = 7, "Công dân rút hồ sơ", "Withdrawn by the citizen"
    STOPPED = 8, "Dừng xử lý", "Processing stopped"
    PROCESSED = 9, "Đã xử lý xong", "Processed"
    RETURNED = 10, "Đã trả kết quả", "Result returned"


def status_label(code: int, language: str = "vi") -> str:
    """The national status's label in `language` ("vi" or "en"); the code itself if unknown."""
    try:
        return Status(code).label(language)
    except ValueError:
        return str(code)


class DossierState(LabelledStr):
    OPEN = "open", "đang giải quyết", "open"
    CLOSED = "closed", "đã kết thúc", "closed"


class StepState(LabelledStr):
    OPEN = "open", "đang chờ xử lý", "open"
    COMPLETED = "completed", "đã hoàn thành", "completed"
    CANCELLED = "cancelled", "đã hủy", "cancelled"


class StepClock(LabelledStr):
    """Whether a step's working time runs, or the dossier waits on the citizen."""

    RUNNING = "running", "đang tính thời gian", "running"
    PAUSED = "paused", "tạm dừng tính thời gian", "paused"


class Result(LabelledStr):
    GRANTED = "granted", "được giải quyết", "granted"
    REFUSED = "refused", "từ chối", "refused"
    WITHDRAWN = "withdrawn", "công dân rút hồ sơ", "withdrawn"
    STOPPED = "stopped", "dừng xử lý", "stopped"


class Outcome(LabelledStr):
    """The reserved values of a step form's `outcome` field, read by the model's gateways."""

    APPROVE = "approve", "đồng ý", "approve"
    REFUSE = "refuse", "từ chối", "refuse"
    SUPPLEMENT = "supplement", "yêu cầu bổ sung", "request supplementation"


class PauseKind(LabelledStr):
    SUPPLEMENTATION = "supplementation", "chờ công dân bổ sung hồ sơ", "waiting for the citizen's supplement"
    FINANCIAL_OBLIGATION = "financial_obligation", "chờ thực hiện nghĩa vụ tài chính", \
        "waiting for the financial obligation"


class Classification(LabelledStr):
    """A finished dossier or step against its due instant (docs/domain.md §4)."""

    EARLY = "early", "trước hạn", "early"
    ON_TIME = "on_time", "đúng hạn", "on time"
    LATE = "late", "quá hạn", "late"


class Channel(IntEnum):
    IN_PERSON = 1
    ONLINE = 2
    POSTAL = 3


CHANNEL_LABELS: dict[Channel, tuple[str, str]] = {
    Channel.IN_PERSON: ("trực tiếp", "in person"),
    Channel.ONLINE: ("trực tuyến", "online"),
    Channel.POSTAL: ("bưu chính", "postal"),
}
# A pause a citizen-waiting step opens, by the status the step shows.
PAUSE_KIND_BY_STATUS = {Status.FINANCIAL_OBLIGATION: PauseKind.FINANCIAL_OBLIGATION}
# The status a step shows unless its model says otherwise.
DEFAULT_STATUS = {StepClock.RUNNING: Status.PROCESSING, StepClock.PAUSED: Status.SUPPLEMENTATION}
