"""Step forms: JSON Schema (draft 2020-12) documents named by id, usually
`bpmn/forms/<form_id>.json` next to the model."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.caching import LruCache
from engine.domain.vocabulary import OUTCOME

FORM_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
MAX_FORM_BYTES = 256 * 1024


class FormError(ValueError):
    """A form that is missing or not a usable JSON Schema; the message says why."""


def load_form_file(forms_dir: Path, form_id: str) -> dict[str, Any]:
    if not FORM_ID_PATTERN.match(form_id):
        raise FormError(f"form id {form_id!r} may only hold lowercase letters, digits, '_' and '-'")
    path = forms_dir / f"{form_id}.json"
    if not path.is_file():
        raise FileNotFoundError(str(path))
    if path.stat().st_size > MAX_FORM_BYTES:
        raise FormError(f"{path.name} is larger than {MAX_FORM_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormError(f"{path.name} is not JSON: {exc}") from None
    except RecursionError:
        raise FormError(f"{path.name} is nested too deeply") from None


def check_form(schema: Any) -> None:
    """Raise FormError unless `schema` is a draft 2020-12 JSON Schema for an object."""
    if not isinstance(schema, dict):
        raise FormError("a form must be a JSON object (a JSON Schema)")
    try:
        text = canonical_json(schema)
    except (TypeError, ValueError, RecursionError) as exc:
        raise FormError(f"the form is not plain JSON data ({type(exc).__name__})") from None
    if len(text) > MAX_FORM_BYTES:
        raise FormError(f"the form is larger than {MAX_FORM_BYTES} bytes")
    error = _form_error(text)
    if error is not None:
        raise FormError(error)


@lru_cache(maxsize=512)
def _form_error(text: str) -> str | None:
    """Checking against the meta-schema costs milliseconds; the same form content is
    checked once per process."""
    try:
        _check_schema(json.loads(text))
    except FormError as exc:
        return str(exc)
    except RecursionError:
        return "the form is nested too deeply"
    return None


def _check_schema(schema: dict[str, Any]) -> None:
    declared = schema.get("$schema")
    if declared is not None and "2020-12" not in str(declared):
        raise FormError(f"$schema is {declared!r}; forms use draft 2020-12")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise FormError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    if schema.get("type") != "object":
        raise FormError('a form schema must have "type": "object"')


def outcome_values(schema: dict[str, Any]) -> frozenset[str] | None:
    """The `outcome` values a form allows (oneOf consts or enum), or None if it has no outcome."""
    prop = (schema.get("properties") or {}).get(OUTCOME)
    if not isinstance(prop, dict):
        return None
    values: set[str] = set()
    for option in prop.get("oneOf") or prop.get("anyOf") or []:
        if isinstance(option, dict) and isinstance(option.get("const"), str):
            values.add(option["const"])
    for value in prop.get("enum") or []:
        if isinstance(value, str):
            values.add(value)
    if isinstance(prop.get("const"), str):
        values.add(prop["const"])
    return frozenset(values)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# Module-level, unlike the runtime's caches: a validator is a pure function of the schema
# object it was built from (the entry holds the schema, so its id is not reused meanwhile).
_VALIDATORS: LruCache[int, tuple[dict[str, Any], Draft202012Validator]] = LruCache(512)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """One validator per form schema object (a model's forms live as long as the model)."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    # formats (date, email...) are checked too: a date box must hold a real date
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    _VALIDATORS.put(id(schema), (schema, validator))
    return validator


def validate_submission(schema: dict[str, Any], data: Any, *, form_id: str | None = None) -> None:
    """Check data submitted for a step against its form; every problem at once.

    Raises InvalidInput whose problems name the field (JSON pointer style path) and
    carry the field's Vietnamese title, so the desk sees which box to fix.
    """
    from engine.errors import InvalidInput, Problem

    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    problems = []
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = "/".join(filter(None, [path, missing]))
        if error.validator == "additionalProperties":
            extra = ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
            path = "/".join(filter(None, [path, extra]))
        title = _field_title(schema, path) or (path.rsplit("/", 1)[-1] if path else "")
        vi, en = _words(error, title, _field_node(schema, path))
        problems.append(Problem(f"form_{error.validator}", vi, en, hint=_hint(error), field=path or None))
    raise InvalidInput(
        f"some of the form's data is not right ({len(problems)} problem(s)); see the messages at the fields",
        f"một số thông tin trong biểu mẫu chưa đúng ({len(problems)} lỗi); xem thông báo tại từng ô",
        code="form_invalid", problems=problems,
    )


# JSON types in the words of the desk: (Vietnamese, English).
_TYPE_WORDS = {"string": ("chữ", "text"), "integer": ("số nguyên", "a whole number"), "number": ("số", "a number"),
               "boolean": ("có hoặc không", "yes or no"), "array": ("danh sách", "a list"),
               "object": ("nhóm thông tin", "a group of details"), "null": ("để trống", "empty")}
_FORMAT_WORDS = {"date": ("một ngày hợp lệ (ngày/tháng/năm)", "a valid date (day/month/year)"),
                 "date-time": ("ngày và giờ hợp lệ", "a valid date and time"),
                 "email": ("địa chỉ thư điện tử hợp lệ", "a valid email address"),
                 "time": ("giờ hợp lệ (giờ:phút)", "a valid time (hours:minutes)")}


def _field_node(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = schema
    for part in filter(None, path.split("/")):
        node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
        if node is None:
            return {}
    return node if isinstance(node, dict) else {}


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _words(error, title: str, node: dict[str, Any]) -> tuple[str, str]:
    """jsonschema's error as a clerk reads it, in Vietnamese and English, naming the field
    by its label; never a schema path, a form id or jsonschema's own English."""
    v, field_vi, field_en = error.validator, f"Trường “{title}”", f"The field “{title}”"
    limit = error.validator_value
    if v == "required":
        return f"{field_vi} là bắt buộc: hãy nhập.", f"{field_en} is required: fill it in."
    if v == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        vi = " hoặc ".join(_TYPE_WORDS.get(k, (k, k))[0] for k in kinds if k != "null")
        en = " or ".join(_TYPE_WORDS.get(k, (k, k))[1] for k in kinds if k != "null")
        return f"{field_vi} phải là {vi}.", f"{field_en} must be {en}."
    if v in ("enum", "const", "oneOf", "anyOf"):
        options = node.get("oneOf") or node.get("anyOf") or []
        titles = [str(o.get("title") or o.get("const")) for o in options if isinstance(o, dict) and "const" in o]
        if not titles and v == "enum":
            titles = [str(x) for x in limit]
        if titles:
            return (f"{field_vi} phải là một trong: {', '.join(titles)}.",
                    f"{field_en} must be one of: {', '.join(titles)}.")
        return f"{field_vi}: hãy chọn một giá trị mà biểu mẫu cho phép.", f"{field_en}: choose a value the form offers."
    if v == "minLength":
        if limit <= 1:
            return f"{field_vi} không được để trống.", f"{field_en} must not be empty."
        return f"{field_vi} phải có ít nhất {limit} ký tự.", f"{field_en} needs at least {limit} characters."
    if v == "maxLength":
        have = len(error.instance) if isinstance(error.instance, str) else 0
        return (f"{field_vi} dài tối đa {limit} ký tự (đang có {have}).",
                f"{field_en} takes at most {limit} characters (it has {have}).")
    if v == "pattern":
        return (f"{field_vi} không đúng định dạng; hãy kiểm tra lại (ví dụ chỉ gồm chữ số).",
                f"{field_en} is not in the expected format; check it (for example digits only).")
    if v == "format":
        vi, en = _FORMAT_WORDS.get(limit, ("đúng định dạng", "in the expected format"))
        return f"{field_vi} phải là {vi}.", f"{field_en} must be {en}."
    if v == "minimum":
        return f"{field_vi} phải từ {_number(limit)} trở lên.", f"{field_en} must be at least {_number(limit)}."
    if v == "exclusiveMinimum":
        return f"{field_vi} phải lớn hơn {_number(limit)}.", f"{field_en} must be more than {_number(limit)}."
    if v in ("maximum", "exclusiveMaximum"):
        word_vi, word_en = ("không được lớn hơn", "at most") if v == "maximum" else ("phải nhỏ hơn", "less than")
        return f"{field_vi} {word_vi} {_number(limit)}.", f"{field_en} must be {word_en} {_number(limit)}."
    if v == "minItems":
        return f"{field_vi} cần ít nhất {limit} mục.", f"{field_en} needs at least {limit} item(s)."
    if v == "maxItems":
        return f"{field_vi} có tối đa {limit} mục.", f"{field_en} takes at most {limit} item(s)."
    if v == "additionalProperties":
        return (f"Biểu mẫu không có trường “{title}”; hãy bỏ thông tin này.",
                f"The form has no field “{title}”; leave it out.")
    return f"{field_vi}: giá trị chưa đúng; hãy kiểm tra lại.", f"{field_en}: the value is not right; check it."


def _field_title(schema: dict[str, Any], path: str) -> str | None:
    node: Any = schema
    for part in filter(None, path.split("/")):
        node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node.get("title") if isinstance(node, dict) else None


def _hint(error) -> str:
    if error.validator == "required":
        return "fill in this required field"
    if error.validator == "additionalProperties":
        return "remove fields the form does not define"
    if error.validator in ("oneOf", "enum", "const"):
        return "choose one of the values the form offers"
    return "correct the value and submit again"


def sample_submission(schema: dict[str, Any] | None, *, outcome: str | None = None) -> dict[str, Any]:
    """The smallest valid data for a form: the chosen outcome (if the form has one and
    allows it) and a plausible value for every other required field. Used to drive
    models in tests and in the demo through the same validation a clerk meets."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    properties = schema.get("properties") or {}
    allowed = outcome_values(schema)
    if allowed:
        data[OUTCOME] = outcome if outcome in allowed else sorted(allowed)[0]
    required = list(schema.get("required") or [])
    # Conditional requirements (`allOf: [{if: ..., then: {required: [...]}}]`) that the
    # data chosen so far triggers, e.g. a refusal reason when the outcome is refuse.
    for rule in schema.get("allOf") or []:
        if isinstance(rule, dict) and "if" in rule and isinstance(rule.get("then"), dict):
            if Draft202012Validator(rule["if"]).is_valid(data):
                required.extend(rule["then"].get("required") or [])
    for name in required:
        if name in data:
            continue
        data[name] = _sample_value(properties.get(name) or {})
    return data


def _sample_value(prop: dict[str, Any]) -> Any:
    if "const" in prop:
        return prop["const"]
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if options and isinstance(options[0], dict) and "const" in options[0]:
            return options[0]["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return max(int(prop.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(prop.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return [_sample_value(prop.get("items") or {"type": "string"})] * max(prop.get("minItems", 1), 1)
    if kind == "object":
        return sample_submission(prop)
    fmt = prop.get("format")
    if fmt == "date":
        return "2026-01-15"
    if fmt == "date-time":
        return "2026-01-15T09:00:00+07:00"
    if fmt == "email":
        return "cong.dan@example.vn"
    text = "Đã kiểm tra"
    return text.ljust(prop.get("minLength", 0), ".")[: prop.get("maxLength", 200)]


REFUSAL_RETURN_FORM = "common_return_refusal"


def refusal_return_form(model: Any, bpmn_dir: str | Path) -> dict[str, Any]:
    """The form of handing over a refusal made outside the model: the model's own
    `common_return_refusal` if it has one, else the library's (`<bpmn_dir>/forms`)."""
    schema = model.forms.get(REFUSAL_RETURN_FORM)
    return schema if schema is not None else _library_form(str(bpmn_dir), REFUSAL_RETURN_FORM)


@lru_cache(maxsize=8)
def _library_form(bpmn_dir: str, form_id: str) -> dict[str, Any]:
    return load_form_file(Path(bpmn_dir) / "forms", form_id)
