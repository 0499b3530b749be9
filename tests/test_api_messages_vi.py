"""Every message a user sees exists in both languages: the Vietnamese text of the error
paths below carries no English word (a small stop-list of the words that leaked before:
"không tìm thấy dossier", marshmallow's "Length must be between 1 and 200.")."""
from __future__ import annotations

import re

import marshmallow
import pytest
from marshmallow import fields as mfields

from api.validation_messages import FALLBACK, FIXED, vietnamese
from tests.api_support import api, assert_problem  # noqa: F401
from tests.test_procedure_scope import body as model_body

STOP_WORDS = ["dossier", "task", "org unit", "completed", "open", "not found", "length", "required field",
              "missing", "must", "invalid", "unknown", "field", "user", "version", "procedure", "delegation",
              "assignment", "not a valid", "between", "shorter", "longer", "greater", "less than", "one of",
              "your roles", "allow", "object"]
_STOP = re.compile(r"\b(" + "|".join(re.escape(w) for w in STOP_WORDS) + r")\b", re.IGNORECASE)


def english_in(text: str) -> list[str]:
    return _STOP.findall(text)


def assert_vietnamese(problem: dict) -> None:
    texts = [problem["message_vi"]] + [p["message_vi"] for p in problem.get("problems", [])]
    leaked = {t: english_in(t) for t in texts if english_in(t)}
    assert not leaked, leaked
    assert problem["message_en"]


def test_the_stop_list_catches_what_leaked_before():
    assert english_in("không tìm thấy dossier TRIPHU-1") == ["dossier"]
    assert english_in("không tìm thấy org unit X") == ["org unit"]
    assert english_in("Length must be between 1 and 200.")
    assert english_in("vai trò của bạn không được phép thực hiện 'dossier.receive'") == ["dossier"]
    assert not english_in("Không tìm thấy hồ sơ TRIPHU-260303-0001")


def _field_messages() -> set[str]:
    """marshmallow's own default messages of the field types the API uses."""
    used = [mfields.Field, mfields.String, mfields.Integer, mfields.Float, mfields.Boolean, mfields.Date,
            mfields.List, mfields.Dict, mfields.Nested, mfields.Email, mfields.Raw]
    out = {m for cls in used for m in getattr(cls, "default_error_messages", {}).values() if "{" not in m}
    out |= {"Not a valid datetime.", "Not a valid aware datetime.", "Invalid input type.", "Unknown field.",
            "Not a valid mapping type."}
    return out


@pytest.mark.parametrize("message", sorted(_field_messages()))
def test_each_marshmallow_default_message_has_its_own_vietnamese(message):
    assert vietnamese(message) != FALLBACK or message == "Invalid value."
    assert not english_in(vietnamese(message))


@pytest.mark.parametrize("validator, value, expected", [
    (marshmallow.validate.Length(1, 200), "", "Độ dài phải từ 1 đến 200 ký tự."),
    (marshmallow.validate.Length(max=32), "x" * 40, "Chỉ được dài tối đa 32 ký tự."),
    (marshmallow.validate.Length(min=8), "x", "Phải dài ít nhất 8 ký tự."),
    (marshmallow.validate.Length(min=1), "", "Không được để trống."),
    (marshmallow.validate.Length(equal=4), "x", "Độ dài phải đúng 4 ký tự."),
    (marshmallow.validate.Range(1, 500), 0, "Phải lớn hơn hoặc bằng 1 và nhỏ hơn hoặc bằng 500."),
    (marshmallow.validate.Range(min=0, min_inclusive=False), 0, "Phải lớn hơn 0."),
    (marshmallow.validate.Range(max=10), 11, "Phải nhỏ hơn hoặc bằng 10."),
    (marshmallow.validate.OneOf(["draft", "approved"]), "x", "Phải là một trong: draft, approved."),
    (marshmallow.validate.Regexp(r"^a$"), "b", "Chuỗi ký tự không đúng định dạng."),
])
def test_validator_messages_carry_their_values_into_vietnamese(validator, value, expected):
    with pytest.raises(marshmallow.ValidationError) as caught:
        validator(value)
    [message] = caught.value.messages
    assert vietnamese(message) == expected


def test_an_unknown_message_never_shows_english():
    assert vietnamese("Something marshmallow says one day.") == FALLBACK
    assert all(not english_in(vi) for vi in FIXED.values())


def test_error_paths_answer_in_vietnamese(api):
    clerk, chair, consultant = api.token_client("clerk"), api.token_client("chair"), api.token_client("consultant")
    admin = api.token_client("admin")
    # objects not found, named in Vietnamese
    for path in ("/api/dossiers/TRIPHU-260303-9999", "/api/dossiers/TRIPHU-260303-9999/timeline",
                 "/api/users/99999", "/api/procedure-versions/99999", "/api/users?unit_code=NOWHERE",
                 "/api/audit/events?unit_code=NOWHERE"):
        assert_vietnamese(assert_problem(admin.get(path), 404))
    assert_vietnamese(assert_problem(clerk.post("/api/tasks/99999/complete", json={}), 404))
    assert_vietnamese(assert_problem(chair.post("/api/delegations/99999/revoke"), 404))
    assert_vietnamese(assert_problem(chair.post("/api/assignments/99999/end", json={"valid_to": "2026-03-04"}), 404))
    assert_vietnamese(assert_problem(clerk.post("/api/dossiers", json={
        "unit_code": "NAHANG", "procedure_code": "9.000001", "applicant": {"name": "Lò Văn Pa"}}), 404))
    assert_vietnamese(assert_problem(consultant.post("/api/procedures/versions", json=model_body(scope="NOWHERE")),
                                     404))
    # refusals name the action in Vietnamese
    assert_vietnamese(assert_problem(api.token_client("officer").post("/api/dossiers", json={
        "unit_code": "TRIPHU", "procedure_code": "9.000001", "applicant": {"name": "Lò Văn Pa"}}), 403))
    assert_vietnamese(assert_problem(clerk.post("/api/procedure-versions/1/retire"), 403))
    assert_vietnamese(assert_problem(chair.post("/api/procedure-versions/1/retire"), 403))
    assert_vietnamese(assert_problem(consultant.get("/api/users"), 403))
    assert_vietnamese(assert_problem(clerk.post("/api/calendar/overrides", json={
        "kind": "day_off", "day": "2026-03-13", "reason": "x"}), 403))
    # request validation (marshmallow at the API edge)
    bad_user = assert_problem(chair.post("/api/users", json={"username": "", "full_name": "x" * 300,
                                                              "password": "p", "extra": 1}), 422)
    assert_vietnamese(bad_user)
    assert len(bad_user["problems"]) >= 3 and any("ký tự" in p["message_vi"] for p in bad_user["problems"])
    for response in (
        chair.post("/api/users", json={}),
        consultant.post("/api/procedures/versions", json={"filename": "x.txt", "source": ""}),
        clerk.get("/api/procedures?limit=100000&status=bogus"),
        clerk.get("/api/calendar?year=1800"),
        clerk.get("/api/calendar?year=abc"),
        admin.post("/api/procedure-versions/1/publish", json={"effective_from": "3/4/2026"}),
        admin.post("/api/procedure-versions/1/publish", json={"effective_from": "1800-01-01"}),
        chair.post("/api/users", json={"username": "a\u0000b", "full_name": "x", "password": "mat-khau-dai",
                                       "home_unit_code": "TRIPHU"}),
        admin.post("/api/org-units", json={"code": "bad code!", "name": "x", "parent_code": "TQ"}),
    ):
        assert_vietnamese(assert_problem(response, 422))


def test_not_found_names_the_object_in_vietnamese():
    from engine.permissions import NOUNS_VI, not_found

    assert not_found("dossier TRIPHU-260303-0001").message_vi == "không tìm thấy hồ sơ TRIPHU-260303-0001"
    assert not_found("org unit X1").message_vi == "không tìm thấy đơn vị X1"
    assert not_found("user 7", "người dùng số 7").message_vi == "không tìm thấy người dùng số 7"
    assert not_found("gizmo 3").message_vi == "không tìm thấy đối tượng yêu cầu"  # never the English noun
    assert all(not english_in(not_found(noun).message_vi) for noun in NOUNS_VI)
