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

from .vocabulary import OUTCOME

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
