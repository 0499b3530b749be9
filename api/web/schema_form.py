"""HTML forms from a step's JSON Schema, and typed data back from the posted fields.

The engine validates the submitted data against the same schema
(`engine.procedure.forms.validate_submission`); this module only chooses an input per
property and turns the posted strings into JSON values (numbers, booleans, lists), so
the engine sees what the officer meant and the form can put each message next to its box.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.errors import Problem

SHORT_TEXT = 200  # a string of at most this many characters gets a one-line box
RADIO_LIMIT = 6  # an enum of more values becomes a drop-down list


@dataclass
class FormField:
    name: str
    kind: str  # text | text_free | textarea | number | integer | boolean | date | datetime | radio | select | lines | json
    title: str
    required: bool = False
    description: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, title)
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    required_when: list[str] = field(default_factory=list)  # titles of the outcomes that make it required

    @property
    def input_id(self) -> str:
        return f"f-{self.name}"


def fields_of(schema: dict[str, Any] | None) -> list[FormField]:
    """One field per top-level property, in the schema's order."""
    if not schema:
        return []
    required = set(schema.get("required") or [])
    when: dict[str, list[str]] = {}
    for outcome, names in _conditional_required(schema):
        for name in names:
            when.setdefault(name, []).append(outcome)
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        f = _field(name, prop, name in required)
        f.required_when = [] if f.required else when.get(name, [])
        out.append(f)
    return out


def _conditional_required(schema: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(outcome title, property names) for each `if outcome is X then required [...]`
    of the schema's `allOf` (how the library's forms say what an outcome requires)."""
    properties = schema.get("properties") or {}
    outcome = properties.get("outcome") if isinstance(properties.get("outcome"), dict) else {}
    titles = {str(o.get("const")): str(o.get("title") or o.get("const"))
              for o in (outcome.get("oneOf") or outcome.get("anyOf") or []) if isinstance(o, dict) and "const" in o}
    out = []
    for rule in schema.get("allOf") or []:
        if not isinstance(rule, dict):
            continue
        condition = ((rule.get("if") or {}).get("properties") or {}).get("outcome") or {}
        names = (rule.get("then") or {}).get("required") or []
        value = condition.get("const") if isinstance(condition, dict) else None
        if value is None or not names:
            continue
        out.append((titles.get(str(value), str(value)), [n for n in names if isinstance(n, str)]))
    return out


def required_by_outcome(schema: dict[str, Any] | None) -> list[tuple[str, list[str]]]:
    """What each outcome of a step's form makes required, by the fields' titles."""
    if not schema:
        return []
    properties = schema.get("properties") or {}
    return [(outcome, [str((properties.get(n) or {}).get("title") or n) for n in names])
            for outcome, names in _conditional_required(schema)]


def _type_of(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _field(name: str, prop: dict[str, Any], required: bool) -> FormField:
    title = str(prop.get("title") or name)
    f = FormField(name, "text", title, required, str(prop.get("description") or ""))
    options = prop.get("oneOf") or prop.get("anyOf")
    if options and all(isinstance(o, dict) and "const" in o for o in options):
        f.kind = "radio"
        f.options = [(str(o["const"]), str(o.get("title") or o["const"])) for o in options]
        return f
    if prop.get("enum"):
        f.options = [(str(v), str(v)) for v in prop["enum"]]
        f.kind = "radio" if len(f.options) <= RADIO_LIMIT else "select"
        return f
    kind = _type_of(prop)
    if kind == "boolean":
        f.kind = "boolean"
    elif kind in ("number", "integer"):
        f.kind = kind
        f.minimum, f.maximum = prop.get("minimum"), prop.get("maximum")
    elif kind == "array" and _type_of(prop.get("items") or {}) in ("string", None):
        f.kind = "lines"
    elif kind in ("array", "object"):
        f.kind = "json"
    elif prop.get("format") == "date":
        f.kind = "date"
    elif prop.get("format") == "date-time":
        f.kind = "datetime"
    else:
        f.max_length = prop.get("maxLength")
        if f.max_length is None:
            f.kind = "text_free"  # no stated length: a small box that may grow
        else:
            f.kind = "text" if f.max_length <= SHORT_TEXT else "textarea"
    return f


def parse(schema: dict[str, Any] | None, form: MultiDict) -> tuple[dict[str, Any], list[Problem]]:
    """Typed data from posted fields. Empty boxes are left out, so the schema's
    `required` speaks for them; values that cannot be read are reported per field."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in fields_of(schema):
        raw = form.get(f.name, "")
        if f.kind == "boolean":
            data[f.name] = raw in ("on", "true", "1", "yes")
            continue
        raw = raw.strip() if isinstance(raw, str) else raw
        if f.kind == "lines":
            items = [line.strip() for line in str(raw).splitlines() if line.strip()]
            if items:
                data[f.name] = items
            continue
        if raw == "":
            continue
        if f.kind in ("number", "integer"):
            try:
                number = float(raw.replace(",", "."))
            except ValueError:
                problems.append(Problem("not_a_number", f"Trường '{f.title}': '{raw}' không phải là số.",
                                        f"Field '{f.name}': '{raw}' is not a number.", field=f.name))
                continue
            if f.kind == "integer":
                if not number.is_integer():
                    problems.append(Problem("not_an_integer", f"Trường '{f.title}': phải là số nguyên.",
                                            f"Field '{f.name}': must be a whole number.", field=f.name))
                    continue
                data[f.name] = int(number)
            else:
                data[f.name] = number
        elif f.kind == "json":
            try:
                data[f.name] = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(Problem("not_json", f"Trường '{f.title}': dữ liệu không đúng định dạng JSON.",
                                        f"Field '{f.name}': not valid JSON.", field=f.name))
        elif f.kind == "datetime":
            data[f.name] = raw if len(raw) > 16 else f"{raw}:00+07:00"  # datetime-local has no offset
        else:
            data[f.name] = raw
    return data, problems


def display_values(schema: dict[str, Any] | None, data: dict[str, Any] | MultiDict | None) -> dict[str, Any]:
    """Values to put back into the inputs (after an error, or to show a completed step)."""
    values: dict[str, Any] = {}
    if not data:
        return values
    for f in fields_of(schema):
        value = data.get(f.name)
        if value is None:
            continue
        if f.kind == "lines" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        elif f.kind == "json" and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        elif f.kind == "datetime" and isinstance(value, str):
            value = value[:16]
        values[f.name] = value
    return values


def field_of(problem: Problem) -> str | None:
    """The top-level form field a problem is about (`missing_documents/0` -> `missing_documents`)."""
    if not problem.field:
        return None
    return problem.field.split("/")[0].split(".")[0]
