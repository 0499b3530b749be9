"""Controlled procedure versions (ISO 9001 clause 7.5): draft -> approved (by, at) ->
effective from a date -> retired. An approved version is never edited; a change is a
new version. A dossier is pinned to the version effective when it was received."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.calendar import VN_TZ
from engine.db.models import Procedure, ProcedureVersion, User
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.permissions import load_principal
from engine.procedure import compile_model
from engine.procedure.model import ProcedureModel


@dataclass(frozen=True)
class VersionInfo:
    version_id: int
    procedure_code: str
    version_no: int
    status: str
    content_hash: str
    effective_from: date | None
    created: bool  # False when identical content was already stored


def submit_version(rt, actor: Actor, source: bytes, filename: str, *, forms: dict | None = None,
                   forms_dir: Path | None = None, change_note: str = "") -> VersionInfo:
    """Validate a model and store it as a draft version (idempotent on identical content)."""
    require_library_role(rt, actor, "procedure.author")
    model = compile_model(source, filename, forms=forms, forms_dir=forms_dir,
                          trusted_scripts=rt.settings.trusted_scripts)
    meta = model.metadata
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        procedure = s.scalar(select(Procedure).where(Procedure.code == meta.procedure_code))
        if procedure is None:
            procedure = Procedure(code=meta.procedure_code, name=meta.name, field=meta.field, created_at=uow.now)
            s.add(procedure)
            s.flush()
        existing = s.scalar(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.content_hash == model.content_hash))
        if existing is not None:
            return _info(existing, meta.procedure_code, created=False)
        number = (s.scalar(select(func.max(ProcedureVersion.version_no))
                           .where(ProcedureVersion.procedure_id == procedure.id)) or 0) + 1
        version = ProcedureVersion(
            procedure_id=procedure.id, version_no=number, filename=filename, source=model.source,
            forms=model.forms, content_hash=model.content_hash, model_metadata=asdict(model.metadata),
            spec_json=model.serialized_spec, status="draft", change_note=change_note,
            created_at=uow.now, created_by_id=actor.user_id,
        )
        s.add(version)
        s.flush()
        uow.log("procedure_version.submitted", "procedure_version", version.id,
                after={"procedure_code": meta.procedure_code, "version_no": number, "content_hash": model.content_hash})
        uow.commit()
        return _info(version, meta.procedure_code, created=True)


def approve_version(rt, actor: Actor, version_id: int) -> VersionInfo:
    require_library_role(rt, actor, "procedure.approve")
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        if version.status != "draft":
            raise Conflict(f"version {version_id} is {version.status}, only a draft can be approved",
                           f"phiên bản {version_id} đang ở trạng thái {version.status}, chỉ bản nháp mới được phê duyệt",
                           code="not_draft")
        if actor.user_id is not None and version.created_by_id == actor.user_id:
            raise Conflict("the author of a version cannot approve it (ISO 9001 7.5.2)",
                           "người soạn thảo không được tự phê duyệt phiên bản (ISO 9001 7.5.2)",
                           code="self_approval", hint="ask the chair or the province administrator to approve")
        version.status, version.approved_at, version.approved_by_id = "approved", uow.now, actor.user_id
        uow.log("procedure_version.approved", "procedure_version", version.id,
                before={"status": "draft"}, after={"status": "approved"})
        uow.commit()
        return _info(version, version.procedure.code)


def publish_version(rt, actor: Actor, version_id: int, effective_from: date) -> VersionInfo:
    require_library_role(rt, actor, "procedure.approve")
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        if version.status != "approved":
            raise Conflict(f"version {version_id} is {version.status}; approve it before publishing",
                           f"phiên bản {version_id} đang ở trạng thái {version.status}; cần phê duyệt trước khi ban hành",
                           code="not_approved")
        if version.effective_from is not None:
            raise Conflict(f"version {version_id} is already effective from {version.effective_from}",
                           f"phiên bản {version_id} đã có hiệu lực từ {version.effective_from}", code="already_published")
        version.effective_from = effective_from
        uow.log("procedure_version.published", "procedure_version", version.id,
                after={"effective_from": effective_from})
        uow.commit()
        return _info(version, version.procedure.code)


def retire_version(rt, actor: Actor, version_id: int) -> VersionInfo:
    require_library_role(rt, actor, "procedure.approve")
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        if version.status == "retired":
            raise Conflict(f"version {version_id} is already retired", f"phiên bản {version_id} đã bị bãi bỏ",
                           code="already_retired")
        before = version.status
        version.status, version.retired_at = "retired", uow.now
        uow.log("procedure_version.retired", "procedure_version", version.id,
                before={"status": before}, after={"status": "retired"})
        uow.commit()
        return _info(version, version.procedure.code)


def publish_file(rt, actor: Actor, path: Path, effective_from: date | None = None, *, approver: Actor | None = None) -> VersionInfo:
    """Validate, store, approve and publish a model file in one go (CLI, demo seeding)."""
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", f"không đọc được tệp {path}: {exc.strerror}",
                           code="unreadable_file") from exc
    info = submit_version(rt, actor, source, path.name, forms_dir=path.parent / "forms")
    if info.status == "draft":
        info = approve_version(rt, approver or actor, info.version_id)
    if info.effective_from is None and info.status == "approved":
        day = effective_from or rt.clock.now().astimezone(VN_TZ).date()
        info = publish_version(rt, approver or actor, info.version_id, day)
    return info


def effective_version(session: Session, procedure_code: str, on: date) -> ProcedureVersion:
    procedure_id = session.scalar(select(Procedure.id).where(Procedure.code == procedure_code))
    if procedure_id is None:
        raise NotFound(f"procedure {procedure_code} is not in the library",
                       f"thủ tục {procedure_code} chưa có trong thư viện", code="unknown_procedure")
    version = session.scalar(
        select(ProcedureVersion)
        .where(ProcedureVersion.procedure_id == procedure_id, ProcedureVersion.status == "approved",
               ProcedureVersion.effective_from.is_not(None), ProcedureVersion.effective_from <= on)
        .order_by(ProcedureVersion.effective_from.desc(), ProcedureVersion.version_no.desc())
        .limit(1)
    )
    if version is None:
        raise Conflict(f"procedure {procedure_code} has no version in effect on {on}",
                       f"thủ tục {procedure_code} không có phiên bản có hiệu lực vào ngày {on}",
                       code="no_effective_version", hint="approve and publish a version effective on or before that day")
    return version


def load_model(rt, version: ProcedureVersion) -> ProcedureModel:
    return rt.model(version)


def library_rights(rt, actor: Actor) -> frozenset[str]:
    """Which of procedure.author / procedure.approve the user holds (in any unit) today."""
    if actor.user_id is None:
        return frozenset({"procedure.author", "procedure.approve"})
    with rt.db.session_factory() as session:
        principal = load_principal(session, actor.user_id, rt.clock.now().astimezone(VN_TZ).date())
        return frozenset(a for a in ("procedure.author", "procedure.approve") if principal.can_anywhere(a))


def require_library_role(rt, actor: Actor, action: str) -> None:
    """The library is shared by the province: a role allowing `action` in any unit
    suffices. System actors (CLI, seeding) act in-process and are not checked."""
    if action not in library_rights(rt, actor):
        raise PermissionDenied(
            f"your roles do not allow '{action}'", f"vai trò của bạn không được phép thực hiện '{action}'",
            code="permission_denied",
            hint="models are authored by the ISO consultant and approved by the chair or the province administrator")


@dataclass(frozen=True)
class VersionRow:
    version_id: int
    version_no: int
    status: str
    filename: str
    content_hash: str
    change_note: str
    created_at: datetime
    created_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    effective_from: date | None
    retired_at: datetime | None
    in_effect: bool  # the version a dossier received today is pinned to


@dataclass(frozen=True)
class LibraryEntry:
    code: str
    name: str
    field: str
    time_limit: str
    versions: list[VersionRow]


def list_library(rt) -> list[LibraryEntry]:
    """Every procedure of the library with all its versions, newest first (the library is
    public within the province: any logged-in user may read it)."""
    today = rt.clock.now().astimezone(VN_TZ).date()
    with rt.db.session_factory() as s:
        names = dict(s.execute(select(User.id, User.full_name)).all())
        entries = []
        for procedure in s.scalars(select(Procedure).order_by(Procedure.field, Procedure.code)):
            versions = sorted(procedure.versions, key=lambda v: v.version_no, reverse=True)
            try:
                current = effective_version(s, procedure.code, today).id
            except (Conflict, NotFound):
                current = None
            meta = versions[0].model_metadata if versions else {}
            entries.append(LibraryEntry(
                procedure.code, procedure.name, procedure.field, str(meta.get("time_limit", "")),
                [VersionRow(v.id, v.version_no, v.status, v.filename, v.content_hash, v.change_note, v.created_at,
                            names.get(v.created_by_id), v.approved_at, names.get(v.approved_by_id),
                            v.effective_from, v.retired_at, v.id == current) for v in versions]))
        return entries


def _get(session: Session, version_id: int) -> ProcedureVersion:
    version = session.get(ProcedureVersion, version_id)
    if version is None:
        raise NotFound(f"procedure version {version_id} not found", f"không tìm thấy phiên bản {version_id}")
    return version


def _info(version: ProcedureVersion, code: str, created: bool = True) -> VersionInfo:
    return VersionInfo(version.id, code, version.version_no, version.status, version.content_hash,
                       version.effective_from, created)
