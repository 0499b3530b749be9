"""Controlled procedure versions (ISO 9001 clause 7.5): draft -> approved (by, at) ->
effective from a date -> retired. An approved version is never edited; a change is a
new version. A dossier is pinned to the version effective when it was received."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Procedure, ProcedureVersion
from engine.errors import Conflict, InvalidInput, NotFound
from engine.permissions import load_principal, require_anywhere
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
    model = compile_model(source, filename, forms=forms, forms_dir=forms_dir,
                          trusted_scripts=rt.settings.trusted_scripts)
    meta = model.metadata
    with rt.unit_of_work(actor) as uow:
        authorize(uow, "procedure.author")
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
    with rt.unit_of_work(actor) as uow:
        authorize(uow, "procedure.approve")
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
    with rt.unit_of_work(actor) as uow:
        authorize(uow, "procedure.approve")
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
    with rt.unit_of_work(actor) as uow:
        authorize(uow, "procedure.approve")
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


def authorize(uow, action: str) -> None:
    """The procedure library is province-wide: the role is needed in some unit.
    System actors (CLI seeding, demo) act in-process only."""
    if uow.actor.user_id is not None:
        require_anywhere(load_principal(uow, uow.actor.user_id, uow.now.astimezone(VN_TZ).date()), action)


def load_model(rt, version: ProcedureVersion) -> ProcedureModel:
    return rt.model(version)


def _get(session: Session, version_id: int) -> ProcedureVersion:
    version = session.get(ProcedureVersion, version_id)
    if version is None:
        raise NotFound(f"procedure version {version_id} not found", f"không tìm thấy phiên bản {version_id}")
    return version


def _info(version: ProcedureVersion, code: str, created: bool = True) -> VersionInfo:
    return VersionInfo(version.id, code, version.version_no, version.status, version.content_hash,
                       version.effective_from, created)
