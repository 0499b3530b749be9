"""The ISO 9001 quality system's own rules (docs/iso.md), pure: objectives and how a
measured value meets its target (6.2), the nonconformity life cycle (8.7, 10.2), the
corrective action reminders (10.2), internal audit sampling and independence (9.2),
and the risk score (6.1).

No database here: the services (`engine/services/quality*.py`) store what these
functions decide, the read models compute the values these functions judge.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Literal, Sequence

from engine.errors import Conflict, InvalidInput, Problem

# --- 6.2 quality objectives --------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """Something the engine measures itself for a commune and a period."""

    code: str
    label_vi: str
    label_en: str
    unit: str  # "%", "dossiers", "days"
    comparator: Literal[">=", "<="]  # how the value must stand against the target
    source_vi: str
    source_en: str


MEASURES: dict[str, Measure] = {m.code: m for m in (
    Measure("on_time_percent", "Tỷ lệ hồ sơ giải quyết đúng hạn và trước hạn (chỉ số 2.1)",
            "Share of dossiers resolved early or on time (indicator 2.1)", "%", ">=",
            "Thống kê chỉ số 2.1 của kỳ", "the period's indicator 2.1 (statistics)"),
    Measure("late_percent", "Tỷ lệ hồ sơ giải quyết quá hạn", "Share of dossiers resolved late", "%", "<=",
            "Thống kê: quá hạn / đã giải quyết", "statistics: finished late / finished"),
    Measure("avg_processing_days", "Thời gian giải quyết trung bình (ngày làm việc, chỉ số 2.2)",
            "Average processing time (working days, indicator 2.2)", "days", "<=",
            "Thống kê chỉ số 2.2 của kỳ", "the period's indicator 2.2 (statistics)"),
    Measure("late_without_apology", "Số hồ sơ quá hạn không có phiếu xin lỗi",
            "Dossiers late without an apology letter", "dossiers", "<=",
            "Hồ sơ quá hạn của kỳ (giải quyết quá hạn, hoặc đang quá hạn) chưa có phiếu xin lỗi (mẫu 04)",
            "the period's late dossiers (finished late, or open and overdue) with no apology letter (form 04)"),
    Measure("satisfaction_percent", "Mức độ hài lòng của người dân", "Citizen satisfaction", "%", ">=",
            "Thống kê: số đánh giá rất hài lòng và hài lòng / số đánh giá của kỳ",
            "statistics: ratings very satisfied or satisfied / ratings in the period"),
)}

Verdict = Literal["met", "not_met", "no_data"]


def judge(value: float | None, comparator: str, target: float) -> Verdict:
    """Whether a measured value meets its target; no value is "no data", never a pass."""
    if value is None:
        return "no_data"
    met = value >= target if comparator == ">=" else value <= target
    return "met" if met else "not_met"


def check_objective(*, title: str, measure: str, target: float | None, year: int) -> None:
    problems = []
    if not title.strip():
        problems.append(Problem("required", "Hãy nhập nội dung mục tiêu.", "Give the objective's wording.", field="title"))
    if measure not in MEASURES:
        problems.append(Problem("unknown_measure", f"Không có phép đo '{measure}'.",
                                f"There is no measure '{measure}'.", hint=f"one of: {', '.join(MEASURES)}",
                                field="measure"))
    elif target is None:
        problems.append(Problem("required", "Hãy nhập chỉ tiêu.", "Give the target.", field="target"))
    elif MEASURES[measure].unit == "%" and not 0 <= target <= 100:
        problems.append(Problem("out_of_range", "Chỉ tiêu phần trăm phải từ 0 đến 100.",
                                "A percentage target must be within 0-100.", field="target"))
    elif target < 0:
        problems.append(Problem("out_of_range", "Chỉ tiêu không được âm.", "The target cannot be negative.",
                                field="target"))
    if not 2000 <= year <= 2199:
        problems.append(Problem("out_of_range", "Năm phải trong khoảng 2000-2199.", "The year must be within 2000-2199.",
                                field="year"))
    _raise_if(problems, "the quality objective is not valid", "mục tiêu chất lượng chưa hợp lệ")


# --- 8.7 / 10.2 nonconformities -------------------------------------------------------

SOURCE_KINDS = ("late_dossier", "apology", "complaint", "audit_finding", "manual")
# open: recorded; action_planned: cause found, actions set; verifying: every action done,
# effectiveness to be judged; closed: judged effective.
NC_STATES = ("open", "action_planned", "verifying", "closed")
NC_EVENTS = ("correct", "analyse", "actions_done", "verify", "close")


@dataclass(frozen=True)
class NcFacts:
    """What the rules need to know about one nonconformity."""

    state: str
    correction: str | None
    root_cause: str | None
    open_actions: int
    done_actions: int
    effective: bool | None  # the last verification's judgement, None when not verified yet


def nc_transition(facts: NcFacts, event: str, *, effective: bool | None = None) -> str:
    """The state after `event`, or a Conflict saying why it may not happen now.

    - correct: record the immediate correction, any time before closure; state unchanged.
    - analyse: root cause and at least one corrective action: open -> action_planned
      (also from verifying, when a verification found the actions ineffective).
    - actions_done: the last open action was done: action_planned -> verifying.
    - verify: judge effectiveness; effective stays verifying (ready to close),
      ineffective goes back to action_planned (a new action is needed).
    - close: verifying, judged effective, with the immediate correction recorded.
    """
    state = facts.state
    if state == "closed":
        raise _nc_conflict("closed", "the nonconformity is closed", "sự không phù hợp đã đóng",
                           "open a new nonconformity if the problem came back")
    if event == "correct":
        return state
    if event == "analyse":
        if not (facts.root_cause or "").strip():
            raise InvalidInput("the root cause is required", "cần nêu nguyên nhân gốc", code="root_cause_required",
                               problems=[Problem("required", "Hãy nêu nguyên nhân gốc.", "Give the root cause.",
                                                 field="root_cause")])
        if facts.open_actions + facts.done_actions == 0 or (state == "verifying" and facts.open_actions == 0):
            raise _nc_conflict("action_required", "add a corrective action first (with an owner and a due date)",
                               "hãy thêm hành động khắc phục (người thực hiện, hạn) trước",
                               "a corrective action removes the cause so it does not happen again")
        return "action_planned" if facts.open_actions else "verifying"
    if event == "actions_done":
        if state == "action_planned" and facts.open_actions == 0:
            return "verifying"
        return state
    if event == "verify":
        if state != "verifying":
            raise _nc_conflict("not_verifying", "verification comes after every corrective action is done",
                               "chỉ đánh giá hiệu lực sau khi mọi hành động khắc phục đã thực hiện xong",
                               "finish the open corrective actions first")
        if effective is None:
            raise InvalidInput("say whether the actions were effective", "hãy kết luận hành động có hiệu lực hay không",
                               code="effective_required")
        return "verifying" if effective else "action_planned"
    if event == "close":
        if state != "verifying" or facts.effective is not True:
            raise _nc_conflict("not_verified", "close only after the corrective actions were verified effective",
                               "chỉ đóng khi hành động khắc phục đã được xác nhận có hiệu lực",
                               "record the verification of effectiveness first")
        if not (facts.correction or "").strip():
            raise _nc_conflict("correction_missing", "record the immediate correction before closing",
                               "hãy ghi nhận việc khắc phục tức thời trước khi đóng",
                               "what was done at once for the dossier or citizen concerned")
        return "closed"
    raise InvalidInput(f"unknown event {event!r}", f"sự kiện không hợp lệ {event!r}", code="bad_event")


def _nc_conflict(code: str, en: str, vi: str, hint: str) -> Conflict:
    return Conflict(en, vi, code=code, hint=hint)


# --- corrective actions: reminders in working time ------------------------------------

ACTION_LEVELS = ("remind", "overdue")


@dataclass(frozen=True)
class ActionThresholds:
    """A corrective action is due by the close of its due day (the commune's working
    calendar): the owner is reminded when that day's first session opens, and the owner
    and the chair are told once the close has passed."""

    remind: datetime
    overdue: datetime


def action_due_level(thresholds: ActionThresholds, fired: str | None, now: datetime
                     ) -> tuple[str, tuple[str, ...]] | None:
    """The highest level due now above `fired` and the lower ones it skips (catching
    up after downtime fires only the highest), or None."""
    order = [("remind", thresholds.remind), ("overdue", thresholds.overdue)]
    passed = [level for level, at in order if at <= now]
    if not passed:
        return None
    highest = passed[-1]
    if fired is not None and ACTION_LEVELS.index(fired) >= ACTION_LEVELS.index(highest):
        return None
    start = ACTION_LEVELS.index(fired) + 1 if fired else 0
    skipped = tuple(level for level in ACTION_LEVELS[start:ACTION_LEVELS.index(highest)])
    return highest, skipped


def action_next_instant(thresholds: ActionThresholds, fired: str | None) -> datetime | None:
    if fired is None:
        return thresholds.remind
    if fired == "remind":
        return thresholds.overdue
    return None


# --- 9.2 internal audit -----------------------------------------------------------------

FINDING_KINDS = ("conformity", "observation", "nonconformity")
AUDIT_STATES = ("planned", "in_progress", "reported")
DEFAULT_SAMPLE_SIZE = 5
MAX_SAMPLE_SIZE = 50


def draw_sample(candidates: Iterable[int], size: int, seed: int) -> list[int]:
    """A deterministic sample: the same candidates, size and seed give the same dossiers
    (the seed is recorded with the audit, so anyone can redraw it)."""
    ordered = sorted(set(candidates))
    if size >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, size))


def check_independence(auditor_roles: set[str], step_roles: Sequence[str]) -> None:
    """An auditor may not audit their own work (ISO 9001 9.2.2 c): refuse one who holds
    a role that performs steps of the audited procedure in the audited unit."""
    own = sorted(auditor_roles & set(step_roles))
    if own:
        raise Conflict(
            f"the auditor holds {', '.join(own)}, a role performing steps of this procedure here, "
            "and may not audit their own work",
            f"người đánh giá đang giữ vai trò {', '.join(own)} thực hiện các bước của thủ tục này tại đơn vị, "
            "không được tự đánh giá công việc của mình",
            code="auditor_not_independent",
            hint="choose an auditor from another unit or without a role in this procedure (ISO 9001 9.2.2 c)",
        )


def check_sample_size(size: int) -> None:
    if not 1 <= size <= MAX_SAMPLE_SIZE:
        raise InvalidInput(f"sample size must be within 1-{MAX_SAMPLE_SIZE}", f"cỡ mẫu phải từ 1 đến {MAX_SAMPLE_SIZE}",
                           code="bad_sample_size",
                           problems=[Problem("out_of_range", f"Cỡ mẫu phải từ 1 đến {MAX_SAMPLE_SIZE}.",
                                             f"Sample size must be within 1-{MAX_SAMPLE_SIZE}.", field="sample_size")])


def finding_opens_nonconformity(kind: str) -> bool:
    if kind not in FINDING_KINDS:
        raise InvalidInput(f"finding kind must be one of {', '.join(FINDING_KINDS)}",
                           "loại phát hiện phải là phù hợp, khuyến nghị hoặc không phù hợp", code="bad_finding_kind",
                           problems=[Problem("bad_choice", "Loại phát hiện không hợp lệ.", "Unknown finding kind.",
                                             field="kind")])
    return kind == "nonconformity"


# --- 6.1 risks and opportunities ---------------------------------------------------------

RISK_KINDS = ("risk", "opportunity")


def risk_score(likelihood: int, impact: int) -> tuple[int, str]:
    """Score 1-25 and its level: high (>= 15), medium (>= 8), low."""
    problems = [Problem("out_of_range", f"{vi} phải từ 1 đến 5.", f"{en} must be within 1-5.", field=name)
                for name, value, vi, en in (("likelihood", likelihood, "Khả năng xảy ra", "Likelihood"),
                                            ("impact", impact, "Mức độ ảnh hưởng", "Impact"))
                if not isinstance(value, int) or not 1 <= value <= 5]
    _raise_if(problems, "the risk is not valid", "rủi ro chưa hợp lệ")
    score = likelihood * impact
    return score, "high" if score >= 15 else "medium" if score >= 8 else "low"


# --- shared -------------------------------------------------------------------------------


def required_text(value: str | None, field: str, vi: str, en: str, *, limit: int = 4000) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required", f"{vi}: bắt buộc", code="required",
                           problems=[Problem("required", f"Hãy nhập {vi.lower()}.", f"Give the {en.lower()}.",
                                             field=field)])
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", f"{vi} dài quá {limit} ký tự", code="too_long",
                           problems=[Problem("too_long", f"{vi} dài quá {limit} ký tự.",
                                             f"{en} is longer than {limit} characters.", field=field)])
    return text


def _raise_if(problems: list[Problem], en: str, vi: str) -> None:
    if problems:
        raise InvalidInput(en, vi, code="invalid_input", problems=problems,
                           hint="; ".join(p.message_en for p in problems))
