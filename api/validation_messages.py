"""Request validation messages in Vietnamese.

marshmallow and webargs word their messages in English ("Length must be between 1 and
200.", "Missing data for required field."); the API keeps that text as `message_en` and
shows this translation as `message_vi`. Messages with numbers or choices are matched by
pattern and the values carried over. A message not known here gets a plain Vietnamese
"invalid value", never the English text.
"""
from __future__ import annotations

import re

from api.schemas import MAX_YEAR, MIN_YEAR, NUL_MESSAGE

# Fixed messages: marshmallow's fields and schema, webargs, and isoflow's own validators.
FIXED: dict[str, str] = {
    "Missing data for required field.": "Thiếu dữ liệu cho trường bắt buộc.",
    "Field may not be null.": "Trường này không được để trống.",
    "Invalid value.": "Giá trị không hợp lệ.",
    "Invalid type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid input.": "Dữ liệu không hợp lệ.",
    "Unknown field.": "Trường không được hỗ trợ.",
    "Not a valid list.": "Phải là một danh sách.",
    "Not a valid tuple.": "Phải là một bộ giá trị.",
    "Not a valid string.": "Không phải là chuỗi ký tự hợp lệ.",
    "Not a valid utf-8 string.": "Không phải là chuỗi UTF-8 hợp lệ.",
    "Not a valid UUID.": "Không phải là mã UUID hợp lệ.",
    "Not a valid number.": "Không phải là số hợp lệ.",
    "Number too large.": "Số quá lớn.",
    "Not a valid integer.": "Không phải là số nguyên hợp lệ.",
    "Special numeric values (nan or infinity) are not permitted.": "Không chấp nhận giá trị số đặc biệt (nan, vô cực).",
    "Not a valid boolean.": "Không phải là giá trị đúng/sai hợp lệ.",
    "Not a valid date.": "Không phải là ngày hợp lệ (YYYY-MM-DD).",
    "Not a valid datetime.": "Không phải là thời điểm hợp lệ (ISO 8601).",
    "Not a valid time.": "Không phải là giờ hợp lệ (HH:MM).",
    "Not a valid aware datetime.": "Thời điểm phải có múi giờ (ISO 8601).",
    "Not a valid naive datetime.": "Thời điểm không được kèm múi giờ.",
    "Not a valid period of time.": "Không phải là khoảng thời gian hợp lệ.",
    "Not a valid mapping type.": "Phải là một đối tượng JSON (các cặp tên: giá trị).",
    "Not a valid URL.": "Không phải là địa chỉ URL hợp lệ.",
    "Not a valid email address.": "Không phải là địa chỉ thư điện tử hợp lệ.",
    "Not a valid IP address.": "Không phải là địa chỉ IP hợp lệ.",
    "Not a valid IPv4 address.": "Không phải là địa chỉ IPv4 hợp lệ.",
    "Not a valid IPv6 address.": "Không phải là địa chỉ IPv6 hợp lệ.",
    "String does not match expected pattern.": "Chuỗi ký tự không đúng định dạng.",
    "Invalid JSON body.": "Nội dung JSON không hợp lệ.",
    NUL_MESSAGE: "Không được chứa ký tự NUL.",
    f"Must be within the years {MIN_YEAR}-{MAX_YEAR}.": f"Năm phải trong khoảng {MIN_YEAR}-{MAX_YEAR}.",
    # isoflow's own validator wording (api/resources)
    "a file name ending in .bpmn": "Tên tệp phải kết thúc bằng .bpmn (chữ, số, dấu cách, '.', '(', ')', '-').",
    "letters, digits, '-' or '_' (at most 32)": "Chỉ gồm chữ, số, '-' hoặc '_' (tối đa 32 ký tự).",
}

_COMPARISONS = {
    "greater than or equal to": "lớn hơn hoặc bằng",
    "greater than": "lớn hơn",
    "less than or equal to": "nhỏ hơn hoặc bằng",
    "less than": "nhỏ hơn",
}
_OP = "|".join(sorted(map(re.escape, _COMPARISONS), key=len, reverse=True))

# (pattern, Vietnamese template): the groups carry the numbers and choices over.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Length must be between (\S+) and (\S+)\."), "Độ dài phải từ {0} đến {1} ký tự."),
    (re.compile(r"Length must be (\S+)\."), "Độ dài phải đúng {0} ký tự."),
    (re.compile(r"Shorter than minimum length 1\."), "Không được để trống."),
    (re.compile(r"Shorter than minimum length (\S+)\."), "Phải dài ít nhất {0} ký tự."),
    (re.compile(r"Longer than maximum length (\S+)\."), "Chỉ được dài tối đa {0} ký tự."),
    (re.compile(rf"Must be ({_OP}) (.+) and ({_OP}) (.+)\."), "Phải {op0} {1} và {op2} {3}."),
    (re.compile(rf"Must be ({_OP}) (.+)\."), "Phải {op0} {1}."),
    (re.compile(r"Must be one of: (.*)\."), "Phải là một trong: {0}."),
    (re.compile(r"Must be equal to (.*)\."), "Phải bằng {0}."),
    (re.compile(r"One or more of the choices you made was not in: (.*)\."), "Có lựa chọn không thuộc: {0}."),
    (re.compile(r"One or more of the choices you made was in: (.*)\."), "Có lựa chọn không được phép: {0}."),
    (re.compile(r"(.*) cannot be formatted as a timedelta\."), "{0} không đổi được thành khoảng thời gian."),
]

FALLBACK = "Giá trị không hợp lệ."


def vietnamese(message: str) -> str:
    """The Vietnamese of one validation message (see the module docstring)."""
    if message in FIXED:
        return FIXED[message]
    for pattern, template in PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            groups = match.groups()
            ops = {f"op{i}": _COMPARISONS[g] for i, g in enumerate(groups) if g in _COMPARISONS}
            return template.format(*groups, **ops)
    return FALLBACK


def hint(message: str) -> str:
    """How to fix the input, in English like every hint."""
    if message == "Not a valid date.":
        return "write dates as YYYY-MM-DD"
    if message in ("Not a valid datetime.", "Not a valid aware datetime."):
        return "write instants as ISO 8601, e.g. 2026-03-03T10:00:00+07:00"
    if message == "Unknown field.":
        return "remove the field; see /api/docs for the accepted fields"
    return ""
