"""The procedure library as users read it: procedures with their controlled versions,
a version's source, a validation report before upload, and the difference between
two versions (what changed in metadata, steps and the BPMN text)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Procedure, ProcedureVersion
from engine.errors import NotFound
from engine.permissions import load_principal, require_anywhere
from engine.runtime import reading
from engine.procedure.validator import ValidationReport, validate_source

VERSION_STATUSES = ("draft", "approved", "retired")
MAX_DIFF_LINES = 5000


@dataclass(frozen=True)
class VersionSummary:
    version_id: int
    procedure_code: str
    version_no: int
    status: str
    content_hash: str
    filename: str
    change_note: str
    created_at: datetime
    created_by_id: int | None
    approved_at: datetime | None
    approved_by_id: int | None
    effective_from: date | None
    retired_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    legal_effective_from: date | None = None
    scope_unit_code: str | None = None  # None: province-wide; else the commune of a local version


@dataclass(frozen=True)
class ProcedureSummary:
    code: str
    name: str
    field: str
    versions: list[VersionSummary]
    effective_version_no: int | None  # the province-wide version new dossiers get today


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any


@dataclass(frozen=True)
class VersionDiff:
    procedure_code: str
    from_version: VersionSummary
    to_version: VersionSummary
    metadata_changes: list[Change]
    steps_added: list[str]
    steps_removed: list[str]
    source_diff: str  # unified diff of the BPMN text
    source_diff_truncated: bool


def _authorize(unit, action: str) -> None:
    if unit.actor.user_id is not None:
        require_anywhere(load_principal(unit, unit.actor.user_id, unit.now.astimezone(VN_TZ).date()), action)


def _summary(v: ProcedureVersion, code: str) -> VersionSummary:
    return VersionSummary(v.id, code, v.version_no, v.status, v.content_hash, v.filename, v.change_note,
                          v.created_at, v.created_by_id, v.approved_at, v.approved_by_id, v.effective_from,
                          v.retired_at, dict(v.model_metadata or {}), v.legal_effective_from,
                          v.scope.code if v.scope is not None else None)


def _in_effect(versions: list[ProcedureVersion], today: date) -> int | None:
    candidates = [v for v in versions if v.status == "approved" and v.effective_from is not None
                  and v.effective_from <= today and v.scope_org_unit_id is None]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v.effective_from, v.version_no)).version_no


def list_procedures(rt, actor: Actor, *, field_code: str | None = None, query: str | None = None,
                    status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[ProcedureSummary], int]:
    """Procedures by code, with every version; `status` keeps procedures having a version
    in it. `rt` is the runtime or an open unit (a page's)."""
    with reading(rt, actor) as unit:
        s, today = unit.session, unit.now.astimezone(VN_TZ).date()
        _authorize(unit, "procedure.view")
        q = select(Procedure)
        if field_code:
            q = q.where(Procedure.field == field_code)
        if query:
            like = f"%{query.strip()}%"
            q = q.where(or_(Procedure.code.ilike(like), Procedure.name.ilike(like)))
        if status:
            q = q.where(Procedure.id.in_(select(ProcedureVersion.procedure_id).where(ProcedureVersion.status == status)))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(selectinload(Procedure.versions)).order_by(Procedure.code, Procedure.id)
                         .limit(limit).offset(offset)).all()
        return [ProcedureSummary(p.code, p.name, p.field, [_summary(v, p.code) for v in p.versions],
                                 _in_effect(p.versions, today)) for p in rows], total


def _version(session: Session, version_id: int) -> ProcedureVersion:
    version = session.get(ProcedureVersion, version_id)
    if version is None:
        raise NotFound(f"procedure version {version_id} not found", f"không tìm thấy phiên bản {version_id}",
                       code="not_found")
    return version


def get_version(rt, actor: Actor, version_id: int) -> VersionSummary:
    with rt.read(actor) as unit:
        s = unit.session
        _authorize(unit, "procedure.view")
        v = _version(s, version_id)
        return _summary(v, v.procedure.code)


def version_source(rt, actor: Actor, version_id: int) -> tuple[str, bytes, dict[str, Any]]:
    """(filename, BPMN bytes, forms) of a stored version, exactly as submitted."""
    with rt.read(actor) as unit:
        s = unit.session
        _authorize(unit, "procedure.view")
        v = _version(s, version_id)
        return v.filename, bytes(v.source), dict(v.forms or {})


def validate_upload(rt, actor: Actor, source: bytes, filename: str, forms: dict[str, Any] | None) -> ValidationReport:
    """Every problem of a model, without storing it (the report an author sees first)."""
    with rt.read(actor) as unit:
        _authorize(unit, "procedure.author")
    return validate_source(source, filename, forms=forms or {}, trusted_scripts=rt.settings.trusted_scripts)


def diff_versions(rt, actor: Actor, from_id: int, to_id: int) -> VersionDiff:
    with rt.read(actor) as unit:
        s = unit.session
        _authorize(unit, "procedure.view")
        a, b = _version(s, from_id), _version(s, to_id)
        code_a, code_b = a.procedure.code, b.procedure.code
        meta_a, meta_b = dict(a.model_metadata or {}), dict(b.model_metadata or {})
        changes = [Change(k, meta_a.get(k), meta_b.get(k)) for k in sorted(set(meta_a) | set(meta_b))
                   if meta_a.get(k) != meta_b.get(k)]
        if a.change_note != b.change_note:
            changes.append(Change("change_note", a.change_note, b.change_note))
        steps_a, steps_b = set(rt.model(a).steps), set(rt.model(b).steps)
        lines = list(difflib.unified_diff(
            bytes(a.source).decode("utf-8", "replace").splitlines(keepends=True),
            bytes(b.source).decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{code_a} v{a.version_no} ({a.filename})", tofile=f"{code_b} v{b.version_no} ({b.filename})"))
        truncated = len(lines) > MAX_DIFF_LINES
        return VersionDiff(code_b if code_a == code_b else f"{code_a}..{code_b}", _summary(a, code_a),
                           _summary(b, code_b), changes, sorted(steps_b - steps_a), sorted(steps_a - steps_b),
                           "".join(lines[:MAX_DIFF_LINES]), truncated)
