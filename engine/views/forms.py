"""Step forms as an integrator reads them: the forms of the library (`<bpmn_dir>/forms`)
and of stored procedure versions, and one step's form with the hints a client needs to
draw and fill it without a checkout of the repository (labels in both languages, field
order, the fields each outcome requires).

The same catalogue completes an upload that names forms without sending them
(`form_catalogue`): a form the upload does not carry is taken from the newest stored
version that has it, else from the library."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import ProcedureVersion
from engine.domain.vocabulary import OUTCOME
from engine.errors import NotFound
from engine.procedure.forms import FORM_ID_PATTERN, FormError, check_form, load_form_file, outcome_values
from engine.views.library import _authorize
from engine.views.reading import reading

LIBRARY = "library"
STORED = "stored"


@dataclass(frozen=True)
class FormSummary:
    name: str
    title: str
    sources: list[str]  # "library" (a file of <bpmn_dir>/forms) and/or "stored" (in a stored version)
    version_ids: list[int]  # the stored versions that carry it, newest first


@dataclass(frozen=True)
class FormDetail:
    name: str
    title: str
    sources: list[str]
    version_ids: list[int]
    schema: dict[str, Any]  # the library's file, else the newest stored version's copy
    schema_source: str
    ui: dict[str, Any]


# --- UI hints -------------------------------------------------------------------------


def _humanise(name: str) -> str:
    words = name.replace("-", "_").split("_")
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


def _label_en(node: dict[str, Any], name: str) -> tuple[str, str]:
    """The English label and where it comes from: `x-title-en` in the form, else the
    field's own name spelled out (the library's forms are written in Vietnamese)."""
    given = node.get("x-title-en") if isinstance(node, dict) else None
    if isinstance(given, str) and given.strip():
        return given, "form"
    return _humanise(name), "field_name"


def _choices(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    options = node.get("oneOf") or node.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        out = []
        for o in options:
            en, _ = _label_en(o, str(o["const"]))
            out.append({"value": o["const"], "label_vi": str(o.get("title") or o["const"]), "label_en": en})
        return out
    if isinstance(node.get("enum"), list):
        return [{"value": v, "label_vi": str(v), "label_en": str(v)} for v in node["enum"]]
    return None


def outcome_requirements(schema: dict[str, Any]) -> dict[str, list[str]]:
    """outcome value -> every field the form requires when that outcome is chosen: the
    form's `required` and those of each `allOf: [{if, then}]` rule the choice triggers."""
    allowed = outcome_values(schema) or frozenset()
    base = [f for f in schema.get("required") or [] if isinstance(f, str)]
    result: dict[str, list[str]] = {}
    for value in sorted(allowed):
        fields = list(base)
        for rule in schema.get("allOf") or []:
            if isinstance(rule, dict) and isinstance(rule.get("if"), dict) and isinstance(rule.get("then"), dict):
                if Draft202012Validator(rule["if"]).is_valid({OUTCOME: value}):
                    fields.extend(f for f in rule["then"].get("required") or [] if f not in fields)
        result[value] = fields
    return result


def ui_hints(schema: dict[str, Any] | None) -> dict[str, Any]:
    """How to draw a form: its fields in the form's own order (`x-order` when given,
    else the order of `properties`), each with labels in Vietnamese and English, the
    JSON type, the choices and whether it is always required; and per outcome the
    fields that outcome requires."""
    if not schema:
        return {"title_vi": "", "title_en": "", "order": [], "fields": [], "outcome_field": None,
                "outcome_requires": {}}
    properties = schema.get("properties") or {}
    order = schema.get("x-order") if isinstance(schema.get("x-order"), list) else list(properties)
    order = [n for n in order if n in properties] + [n for n in properties if n not in order]
    required = set(schema.get("required") or [])
    fields = []
    for name in order:
        node = properties[name] if isinstance(properties[name], dict) else {}
        en, en_source = _label_en(node, name)
        kind = node.get("type")
        choices = _choices(node)
        fields.append({
            "name": name, "label_vi": str(node.get("title") or name), "label_en": en, "label_en_source": en_source,
            "type": kind if isinstance(kind, str) else ("choice" if choices else "any"),
            "format": node.get("format"), "required": name in required, "choices": choices,
            "multiple": kind == "array",
        })
    title_en, _ = _label_en(schema, str(schema.get("$id") or schema.get("title") or "form").rsplit("/", 1)[-1]
                            .removesuffix(".json"))
    has_outcome = OUTCOME in properties
    return {"title_vi": str(schema.get("title") or ""), "title_en": title_en, "order": order, "fields": fields,
            "outcome_field": OUTCOME if has_outcome else None,
            "outcome_requires": outcome_requirements(schema) if has_outcome else {}}


# --- the catalogue --------------------------------------------------------------------


def _library_forms(bpmn_dir: Path) -> dict[str, dict[str, Any]]:
    forms_dir = Path(bpmn_dir) / "forms"
    found: dict[str, dict[str, Any]] = {}
    if not forms_dir.is_dir():
        return found
    for path in sorted(forms_dir.glob("*.json")):
        name = path.stem
        if not FORM_ID_PATTERN.match(name):
            continue
        try:
            schema = load_form_file(forms_dir, name)
            check_form(schema)
        except (FormError, OSError):
            continue  # `isoflow validate` reports a broken library form; the catalogue lists usable ones
        found[name] = schema
    return found


def _stored_forms(session) -> dict[str, tuple[dict[str, Any], list[int]]]:
    """form name -> (the newest stored copy, ids of the versions carrying it, newest first)."""
    found: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for version_id, forms in session.execute(
            select(ProcedureVersion.id, ProcedureVersion.forms).order_by(ProcedureVersion.id.desc())):
        for name, schema in (forms or {}).items():
            if name in found:
                found[name][1].append(version_id)
            elif isinstance(schema, dict):
                found[name] = (schema, [version_id])
    return found


def form_catalogue(rt, actor: Actor) -> dict[str, dict[str, Any]]:
    """Every known form by name: the newest stored version's copy, else the library's."""
    with reading(rt, actor) as unit:
        catalogue = dict(_library_forms(unit.runtime.settings.bpmn_dir))
        for name, (schema, _) in _stored_forms(unit.session).items():
            catalogue[name] = schema
        return catalogue


def complete_forms(rt, actor: Actor, given: dict[str, Any] | None) -> dict[str, Any]:
    """The forms of an upload: those it carries, and every other known form (the model's
    validation keeps only those its steps name)."""
    merged = form_catalogue(rt, actor)
    merged.update(given or {})
    return merged


def list_forms(rt, actor: Actor, *, source: str | None = None, query: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[FormSummary], int]:
    with reading(rt, actor) as unit:
        _authorize(unit, "procedure.view")
        library = _library_forms(unit.runtime.settings.bpmn_dir)
        stored = _stored_forms(unit.session)
    rows = []
    for name in sorted(set(library) | set(stored)):
        schema = library.get(name) or stored[name][0]
        sources = [s for s, present in ((LIBRARY, name in library), (STORED, name in stored)) if present]
        if source and source not in sources:
            continue
        title = str(schema.get("title") or "")
        if query and query.casefold() not in name.casefold() and query.casefold() not in title.casefold():
            continue
        rows.append(FormSummary(name, title, sources, stored[name][1] if name in stored else []))
    return rows[offset:offset + limit], len(rows)


def get_form(rt, actor: Actor, name: str) -> FormDetail:
    with reading(rt, actor) as unit:
        _authorize(unit, "procedure.view")
        library = _library_forms(unit.runtime.settings.bpmn_dir) if FORM_ID_PATTERN.match(name) else {}
        stored = _stored_forms(unit.session)
    if name not in library and name not in stored:
        raise NotFound(f"form {name!r} not found", f"không tìm thấy biểu mẫu {name!r}", code="not_found",
                       hint="GET /api/forms lists the known forms")
    schema, schema_source = (library[name], LIBRARY) if name in library else (stored[name][0], STORED)
    sources = [s for s, present in ((LIBRARY, name in library), (STORED, name in stored)) if present]
    return FormDetail(name, str(schema.get("title") or ""), sources, stored[name][1] if name in stored else [],
                      json.loads(json.dumps(schema)), schema_source, ui_hints(schema))
