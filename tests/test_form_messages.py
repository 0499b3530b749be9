"""Step form problems in a clerk's words: each jsonschema failure named by the field's
label, in Vietnamese and English, never a schema path, a form id or jsonschema's text."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.procedure.forms import validate_submission

SCHEMA = {
    "type": "object", "required": ["name", "sex"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "title": "Họ và tên", "minLength": 1, "maxLength": 5},
        "id": {"type": "string", "title": "Số định danh", "pattern": "^[0-9]{12}$", "minLength": 3},
        "sex": {"type": "string", "title": "Giới tính", "oneOf": [{"const": "male", "title": "Nam"},
                                                                  {"const": "female", "title": "Nữ"}]},
        "color": {"type": "string", "title": "Màu", "enum": ["red", "blue"]},
        "born": {"type": "string", "title": "Ngày sinh", "format": "date"},
        "copies": {"type": "integer", "title": "Số bản", "minimum": 1, "maximum": 9},
    },
}


def problems(data):
    with pytest.raises(InvalidInput) as caught:
        validate_submission(SCHEMA, data, form_id="secret_form_id")
    assert "secret_form_id" not in caught.value.message_vi + caught.value.message_en
    return {p.field: p for p in caught.value.problems}


@pytest.mark.parametrize("data, field, vi, en", [
    ({"sex": "male"}, "name", "Trường “Họ và tên” là bắt buộc: hãy nhập.", "The field “Họ và tên” is required"),
    ({"name": 5, "sex": "male"}, "name", "Trường “Họ và tên” phải là chữ.", "must be text"),
    ({"name": "", "sex": "male"}, "name", "Trường “Họ và tên” không được để trống.", "must not be empty"),
    ({"name": "Nguyễn Văn", "sex": "male"}, "name", "dài tối đa 5 ký tự (đang có 10)", "at most 5 characters"),
    ({"name": "An", "sex": "x"}, "sex", "Trường “Giới tính” phải là một trong: Nam, Nữ.", "one of: Nam, Nữ"),
    ({"name": "An", "sex": "male", "color": "green"}, "color", "phải là một trong: red, blue", "one of: red, blue"),
    ({"name": "An", "sex": "male", "id": "12a456789012"}, "id", "không đúng định dạng", "expected format"),
    ({"name": "An", "sex": "male", "id": "1"}, "id", "phải có ít nhất 3 ký tự", "at least 3 characters"),
    ({"name": "An", "sex": "male", "born": "30/02/2026"}, "born", "phải là một ngày hợp lệ", "a valid date"),
    ({"name": "An", "sex": "male", "copies": 0}, "copies", "Trường “Số bản” phải từ 1 trở lên.", "at least 1"),
    ({"name": "An", "sex": "male", "copies": 10}, "copies", "không được lớn hơn 9", "at most 9"),
    ({"name": "An", "sex": "male", "extra": 1}, "extra", "Biểu mẫu không có trường “extra”", "has no field"),
])
def test_each_kind_of_problem_in_words(data, field, vi, en):
    problem = problems(data)[field]
    assert vi in problem.message_vi and en in problem.message_en
    for text in (problem.message_vi, problem.message_en):
        assert "is not valid under" not in text and "is a required property" not in text and "'" not in text
        assert "/" not in text.replace("ngày/tháng/năm", "").replace("day/month/year", "")
