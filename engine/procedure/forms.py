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
    validator = Draft202012Validator(schema)
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
        title = _field_title(schema, path) or path or "(form)"
        problems.append(Problem(
            f"form_{error.validator}", f"Trường '{title}': dữ liệu không hợp lệ ({error.message}).",
            f"Field '{path or '(form)'}': {error.message}.",
            hint=_hint(error), field=path or None,
        ))
    raise InvalidInput(
        f"the data does not fit form {form_id or ''} ({len(problems)} problem(s))",
        f"dữ liệu không khớp biểu mẫu {form_id or ''} ({len(problems)} lỗi)",
        code="form_invalid", problems=problems,
    )


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
