"""The ISO dialect's rules for one step and for a procedure's metadata, in one place.

The BPMN validator (which locates each issue at an element and line), the table importer
(at a row and column) and the parser (which builds the task specs and must never disagree
with the validator) all judge values through these functions. They take the authored text
and return typed values (with safe fallbacks where a value is wrong) plus the issues.

A form is optional on a step: a step without one is completed by confirming it (the
officer records nothing). A step whose outcome a gateway reads needs a form that offers
those outcomes; the flow checks of each format enforce that, not this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from engine.domain import vocabulary as v
from engine.domain.fields import FIELDS, resolve_field
from engine.domain.roles import STEP_ROLES, resolve_role

from .forms import FORM_ID_PATTERN
from .problems import Issue


@dataclass(frozen=True)
class StepValues:
    """A step as the dialect understands it (fallbacks where the text was wrong)."""

    name: str
    role: str
    duration: timedelta
    clock: str
    status: int
    form: str | None


def judge_step(*, name: str, role: str, duration: str, clock: str = "", status: str = "", form: str = "",
               label: str = "") -> tuple[StepValues, list[Issue]]:
    """Judge the authored text of a step. `role` is the role property, else the lane name;
    `label` names the step in messages (its name or id)."""
    issues: list[Issue] = []
    name = (name or "").strip()
    label = label or name or "?"
    if not name:
        issues.append(Issue("name", "task_name_missing", "Bước chưa có tên (việc phải làm).", "The step has no name.",
                            "Đặt tên bước theo việc phải làm, ví dụ: Tiếp nhận hồ sơ.",
                            "Name the step with what is done, e.g. Tiếp nhận hồ sơ."))
    role = (role or "").strip()
    role = resolve_role(role) or role  # a post's Vietnamese name as well as the role code
    if not role:
        issues.append(Issue("role", "role_missing", f"Bước {label!r} chưa có người thực hiện (vai trò).",
                            f"The step {label!r} has no role.",
                            "Đặt bước vào một làn (lane) mang mã vai trò, hoặc khai báo thuộc tính role của bước.",
                            "Put the step in a lane named with a role code, or set the task property role."))
    elif role not in STEP_ROLES:
        known = ", ".join(sorted(STEP_ROLES))
        issues.append(Issue("role", "role_unknown", f"Vai trò {role!r} của bước {label!r} không có trong danh mục.",
                            f"The role {role!r} of step {label!r} is not a known step role.",
                            f"Các vai trò hợp lệ: {known}.", f"Known roles: {known}."))
    parsed = timedelta(0)
    duration = (duration or "").strip()
    if not duration:
        issues.append(Issue("duration", "duration_missing", f"Bước {label!r} chưa có thời gian (duration).",
                            f"The step {label!r} has no duration.",
                            "Khai báo thời gian làm việc của bước, ví dụ PT4H, P0.5D hoặc P2D.",
                            "Add the task property duration in working time, e.g. PT4H, P0.5D or P2D."))
    else:
        try:
            parsed = v.parse_working_duration(duration)
        except v.DurationError as exc:
            issues.append(Issue("duration", "duration_invalid",
                                f"Thời gian {duration!r} của bước {label!r} không hợp lệ.",
                                f"The duration of step {label!r} is invalid: {exc}.",
                                "Dùng thời lượng ISO 8601 tính theo giờ làm việc: PT30M, PT4H, P0.5D, P1DT2H "
                                "(1 ngày = 8 giờ làm việc).",
                                "Use ISO 8601 working time: PT30M, PT4H, P0.5D, P1DT2H (1 day = 8 working hours)."))
    clock = (clock or "").strip() or v.CLOCK_RUNNING
    if clock not in v.CLOCKS:
        issues.append(Issue("clock", "clock_invalid", f"Giá trị clock {clock!r} không hợp lệ.",
                            f"The clock {clock!r} is not allowed.",
                            "Dùng clock = running (mặc định, tính vào thời hạn) hoặc paused (bước chờ công dân).",
                            "Use clock = running (default) or paused (the step waits on the citizen)."))
        clock = v.CLOCK_RUNNING
    code = v.DEFAULT_STATUS[clock]
    status = (status or "").strip()
    if status:
        if status.isdigit() and int(status) in v.NATIONAL_STATUSES:
            code = int(status)
        else:
            issues.append(Issue("status", "status_invalid", f"Mã trạng thái {status!r} không hợp lệ.",
                                f"The status {status!r} is not a national status code.",
                                "Dùng mã trạng thái quốc gia 1-10: 4 (đang xử lý), 5 (yêu cầu bổ sung), "
                                "6 (chờ nghĩa vụ tài chính), 9 (đã xử lý xong).",
                                "Use a national status code 1-10: 4 (processing), 5 (supplementation), "
                                "6 (financial obligation), 9 (processed)."))
    form = (form or "").strip() or None
    if form is not None and not FORM_ID_PATTERN.match(form):
        issues.append(Issue("form", "form_invalid", f"Mã biểu mẫu {form!r} không hợp lệ.",
                            f"The form id {form!r} is invalid.",
                            "Mã biểu mẫu gồm chữ thường, chữ số, '_' và '-', ví dụ birth_appraisal "
                            "(tệp bpmn/forms/<mã>.json).",
                            "Form ids hold lowercase letters, digits, '_' and '-', e.g. birth_appraisal "
                            "(file bpmn/forms/<id>.json)."))
        form = None
    return StepValues(name=name, role=role, duration=parsed, clock=clock, status=code, form=form), issues


@dataclass(frozen=True)
class ProcessValues:
    """A procedure's metadata as the dialect understands it."""

    name: str
    procedure_code: str
    field: str
    time_limit: str
    time_basis: str
    limits_by_category: dict[str, str] = field(default_factory=dict)


def judge_limit(text: str, basis: str, prop_name: str) -> Issue | None:
    try:
        v.limit_budget(text, basis)
        return None
    except v.DurationError as exc:
        return Issue(prop_name, "process_limit_invalid", f"Thời hạn {prop_name} = {text!r} không hợp lệ.",
                     f"The limit {prop_name} = {text!r} is invalid: {exc}.",
                     "Theo ngày làm việc: P3D, P0.5D, PT4H hoặc same-day; theo ngày lịch: số ngày nguyên như P30D.",
                     "Working basis: P3D, P0.5D, PT4H or same-day; calendar basis: whole days such as P30D.")


def judge_process(*, name: str, code: str, field_code: str, time_limit: str, time_basis: str,
                  category_limits: dict[str, str]) -> tuple[ProcessValues, list[Issue]]:
    """Judge a procedure's identifying metadata and statutory limits (`category_limits`:
    category -> limit text, as authored)."""
    issues: list[Issue] = []
    name, code, field_code = (name or "").strip(), (code or "").strip(), (field_code or "").strip()
    field_code = resolve_field(field_code) or field_code  # "Hộ tịch" as well as civil_status
    if not name:
        issues.append(Issue("name", "process_name_missing", "Quy trình chưa có tên.", "The process has no name.",
                            "Đặt tên quy trình bằng tên thủ tục tiếng Việt (ví dụ Đăng ký khai sinh).",
                            "Give the process the procedure's Vietnamese name (e.g. Đăng ký khai sinh)."))
    if not code:
        issues.append(Issue(v.PROCEDURE_CODE, "process_code_missing", "Quy trình thiếu mã thủ tục (procedure_code).",
                            "The process has no procedure_code.",
                            "Thêm thuộc tính procedure_code là mã thủ tục quốc gia, ví dụ 1.001193.",
                            "Add the property procedure_code with the national code, e.g. 1.001193."))
    elif not v.PROCEDURE_CODE_PATTERN.match(code):
        issues.append(Issue(v.PROCEDURE_CODE, "process_code_invalid", f"Mã thủ tục {code!r} không đúng dạng.",
                            f"The procedure_code {code!r} is not a national procedure code.",
                            "Dùng mã trong Cơ sở dữ liệu quốc gia về thủ tục hành chính: một chữ số, dấu chấm, "
                            "sáu chữ số, ví dụ 1.001193.",
                            "Use the code from the national database, digits.six digits, e.g. 1.001193."))
    if not field_code:
        issues.append(Issue(v.FIELD, "process_field_missing", "Quy trình thiếu lĩnh vực (field).",
                            "The process has no field.", "Thêm thuộc tính field, ví dụ civil_status (hộ tịch).",
                            "Add the property field, e.g. civil_status."))
    elif field_code not in FIELDS:
        known = ", ".join(sorted(FIELDS))
        issues.append(Issue(v.FIELD, "process_field_unknown", f"Lĩnh vực {field_code!r} không có trong danh mục.",
                            f"The field {field_code!r} is not in the field registry.",
                            f"Các lĩnh vực hợp lệ: {known}.", f"Known fields: {known}."))
    basis = (time_basis or "").strip() or v.BASIS_WORKING
    if basis not in v.TIME_BASES:
        issues.append(Issue(v.TIME_BASIS, "time_basis_invalid", f"Cách tính thời hạn {basis!r} không hợp lệ.",
                            f"The time_basis {basis!r} is not allowed.",
                            "Dùng time_basis = working (ngày làm việc, mặc định) hoặc calendar (ngày lịch).",
                            "Use time_basis = working (default) or calendar."))
        basis = v.BASIS_WORKING
    limit = (time_limit or "").strip()
    if not limit:
        issues.append(Issue(v.TIME_LIMIT, "process_limit_missing", "Quy trình thiếu thời hạn giải quyết (time_limit).",
                            "The process has no time_limit.",
                            "Thêm time_limit: P3D (3 ngày làm việc), PT4H, hoặc same-day (trong ngày).",
                            "Add time_limit: P3D (3 working days), PT4H, or same-day."))
    else:
        issue = judge_limit(limit, basis, v.TIME_LIMIT)
        if issue is not None:
            issues.append(issue)
    by_category: dict[str, str] = {}
    for category, text in category_limits.items():
        prop_name = v.CATEGORY_LIMIT_PREFIX + category
        if category not in v.COMMUNE_CATEGORIES:
            known = ", ".join(v.COMMUNE_CATEGORIES)
            issues.append(Issue(prop_name, "limit_category_unknown", f"Loại xã {category!r} không có trong danh mục.",
                                f"Unknown commune category {category!r} in {prop_name!r}.",
                                f"Các loại xã: {known}; ví dụ time_limit.mountainous = P30D.",
                                f"Categories: {known}; e.g. time_limit.mountainous = P30D."))
            continue
        issue = judge_limit(text, basis, prop_name)
        if issue is None:
            by_category[category] = text
        else:
            issues.append(issue)
    return ProcessValues(name=name, procedure_code=code, field=field_code, time_limit=limit, time_basis=basis,
                         limits_by_category=by_category), issues
