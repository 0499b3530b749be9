"""Controlled procedure versions (ISO 9001 clause 7.5): draft -> approved (by, at) ->
effective from a date -> retired. An approved version is never edited; a change is a
new version. A dossier is pinned to the version effective when it was received.

Who controls a version (docs/authoring.md "Who controls a model"): a province-wide
version is approved, published and retired by a role held at the province; a
commune's local version (scope = the commune) by the commune's chair or the province.
A local version adapts a province version in effect and may shorten, never lengthen,
its time limit. Publishing records the legal effective date as given, and new dossiers
get the version from that day or from the publication day, whichever is later."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import OrgUnit, Procedure, ProcedureVersion
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problem
from engine.permissions import Principal, action_vi, load_principal, not_found
from engine.services.calendars import calendar_for
from engine.services.workflow import dossier_limit
from engine.procedure import ProcedureModel, compile_model
from engine.runtime import reading


@dataclass(frozen=True)
class VersionInfo:
    version_id: int
    procedure_code: str
    version_no: int
    status: str
    content_hash: str
    effective_from: date | None  # first day new dossiers get it
    created: bool  # False when identical content was already stored
    legal_effective_from: date | None = None  # the legal instrument's date, as given at publication
    scope_unit_code: str | None = None  # None: province-wide; else the commune of a local version


def submit_version(rt, actor: Actor, source: bytes, filename: str, *, forms: dict | None = None,
                   forms_dir: Path | None = None, change_note: str = "",
                   scope_unit_code: str | None = None) -> VersionInfo:
    """Validate a model and store it as a draft version (idempotent on identical content).

    `scope_unit_code` names the commune of a local version; without it the version is
    province-wide."""
    model = compile_model(source, filename, forms=forms, forms_dir=forms_dir,
                          trusted_scripts=rt.settings.trusted_scripts)
    meta = model.metadata
    with rt.unit_of_work(actor) as uow:
        scope = _scope_unit(uow, scope_unit_code) if scope_unit_code else None
        authorize(uow, "procedure.author", scope)
        s = uow.session
        procedure = s.scalar(select(Procedure).where(Procedure.code == meta.procedure_code))
        if scope is not None:
            _check_local_version(rt, uow, procedure, model, scope)
        if procedure is None:
            procedure = Procedure(code=meta.procedure_code, name=meta.name, field=meta.field, created_at=uow.now)
            s.add(procedure)
            s.flush()
        existing = s.scalar(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.content_hash == model.content_hash))
        if existing is not None:
            if existing.scope_org_unit_id != (scope.id if scope is not None else None):
                raise Conflict(
                    f"this content is already stored as version {existing.version_no} of {meta.procedure_code} "
                    f"({_scope_en(existing)})",
                    f"nội dung này đã được lưu là phiên bản {existing.version_no} của thủ tục {meta.procedure_code} "
                    f"({_scope_vi(existing)})",
                    code="duplicate_content", hint="change the model, or use the stored version")
            return _info(existing, meta.procedure_code, created=False)
        number = (s.scalar(select(func.max(ProcedureVersion.version_no))
                           .where(ProcedureVersion.procedure_id == procedure.id)) or 0) + 1
        version = ProcedureVersion(
            procedure_id=procedure.id, version_no=number, filename=filename, source=model.source,
            forms=model.forms, content_hash=model.content_hash, model_metadata=asdict(model.metadata),
            spec_json=model.serialized_spec, status="draft", change_note=change_note,
            created_at=uow.now, created_by_id=actor.user_id, scope=scope,
        )
        s.add(version)
        s.flush()
        uow.log("procedure_version.submitted", "procedure_version", version.id,
                org_unit_id=scope.id if scope is not None else None,
                after={"procedure_code": meta.procedure_code, "version_no": number, "content_hash": model.content_hash,
                       "scope": scope.code if scope is not None else None})
        uow.commit()
        return _info(version, meta.procedure_code, created=True)


def approve_version(rt, actor: Actor, version_id: int) -> VersionInfo:
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        authorize(uow, "procedure.approve", version.scope)
        if version.status != "draft":
            raise Conflict(f"version {version_id} is {version.status}, only a draft can be approved",
                           f"phiên bản {version_id} đang ở trạng thái {version.status}, chỉ bản nháp mới được phê duyệt",
                           code="not_draft")
        if actor.user_id is not None and version.created_by_id == actor.user_id:
            raise Conflict("the author of a version cannot approve it (ISO 9001 7.5.2)",
                           "người soạn thảo không được tự phê duyệt phiên bản (ISO 9001 7.5.2)",
                           code="self_approval", hint="ask the province administrator (or, for a commune's "
                                                     "local version, its chair) to approve")
        version.status, version.approved_at, version.approved_by_id = "approved", uow.now, actor.user_id
        uow.log("procedure_version.approved", "procedure_version", version.id,
                before={"status": "draft"}, after={"status": "approved"})
        uow.commit()
        return _info(version, version.procedure.code)


def publish_version(rt, actor: Actor, version_id: int, effective_from: date) -> VersionInfo:
    """Make an approved version effective. `effective_from` is the legal effective date
    (the decision's); it is recorded as given. New dossiers get the version from that
    day, or from today when that day has passed: a version never governs a day before
    it was published, so no dossier already received changes meaning."""
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        authorize(uow, "procedure.approve", version.scope)
        if version.status != "approved":
            raise Conflict(f"version {version_id} is {version.status}; approve it before publishing",
                           f"phiên bản {version_id} đang ở trạng thái {version.status}; cần phê duyệt trước khi ban hành",
                           code="not_approved")
        if version.effective_from is not None:
            raise Conflict(f"version {version_id} is already effective from {version.effective_from}",
                           f"phiên bản {version_id} đã có hiệu lực từ {version.effective_from}", code="already_published")
        today = uow.now.astimezone(VN_TZ).date()
        version.legal_effective_from = effective_from
        version.effective_from = max(effective_from, today)
        uow.log("procedure_version.published", "procedure_version", version.id, org_unit_id=version.scope_org_unit_id,
                after={"effective_from": version.effective_from, "legal_effective_from": effective_from})
        uow.commit()
        return _info(version, version.procedure.code)


def retire_version(rt, actor: Actor, version_id: int) -> VersionInfo:
    with rt.unit_of_work(actor) as uow:
        version = _get(uow.session, version_id)
        authorize(uow, "procedure.approve", version.scope)
        if version.status == "retired":
            raise Conflict(f"version {version_id} is already retired", f"phiên bản {version_id} đã bị bãi bỏ",
                           code="already_retired")
        before = version.status
        version.status, version.retired_at = "retired", uow.now
        uow.log("procedure_version.retired", "procedure_version", version.id, org_unit_id=version.scope_org_unit_id,
                before={"status": before}, after={"status": "retired"})
        uow.commit()
        return _info(version, version.procedure.code)


def publish_file(rt, actor: Actor, path: Path, effective_from: date | None = None, *, approver: Actor | None = None) -> VersionInfo:
    """Validate, store, approve and publish a province-wide model file in one go (CLI,
    demo seeding). `effective_from` is the legal effective date (default: today)."""
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


def effective_version(session: Session, procedure_code: str, on: date, *, org_unit_id: int | None) -> ProcedureVersion:
    """The version a dossier of `org_unit_id` received on `on` runs on: the approved
    version with the latest effective date on or before `on`, among the province-wide
    ones and the commune's own; on the same date the commune's local version wins. A
    later province version therefore supersedes a local one until the commune issues a
    new local version based on it."""
    procedure_id = session.scalar(select(Procedure.id).where(Procedure.code == procedure_code))
    if procedure_id is None:
        raise NotFound(f"procedure {procedure_code} is not in the library",
                       f"thủ tục {procedure_code} chưa có trong thư viện", code="unknown_procedure")
    version = session.scalar(
        select(ProcedureVersion)
        .where(ProcedureVersion.procedure_id == procedure_id, ProcedureVersion.status == "approved",
               ProcedureVersion.effective_from.is_not(None), ProcedureVersion.effective_from <= on,
               or_(ProcedureVersion.scope_org_unit_id.is_(None), ProcedureVersion.scope_org_unit_id == org_unit_id))
        .order_by(ProcedureVersion.effective_from.desc(),
                  case((ProcedureVersion.scope_org_unit_id.is_(None), 1), else_=0),
                  ProcedureVersion.version_no.desc())
        .limit(1)
    )
    if version is None:
        raise Conflict(f"procedure {procedure_code} has no version in effect on {on}",
                       f"thủ tục {procedure_code} không có phiên bản có hiệu lực vào ngày {on}",
                       code="no_effective_version", hint="approve and publish a version effective on or before that day")
    return version


def authorize(uow, action: str, scope: OrgUnit | None = None) -> None:
    """A province-wide version needs the role at the province; a commune's local
    version needs it in that commune (a province role spreads there). A role held in
    some other commune never counts. System actors (CLI seeding, demo) act in-process only."""
    if uow.actor.user_id is None:
        return
    principal = _principal(uow)
    if scope is None:
        provinces = uow.session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "province")).all()
        if not any(principal.can(action, unit_id) for unit_id in provinces):
            raise PermissionDenied(
                f"a province-wide procedure version is controlled by the province: your roles do not allow "
                f"'{action}' at the province",
                f"phiên bản thủ tục áp dụng toàn tỉnh do cấp tỉnh quản lý: vai trò của bạn không được phép "
                f"{action_vi(action)} ở cấp tỉnh",
                code="permission_denied",
                hint="a commune changes its own procedures through a local version (scope_unit_code)")
    elif not principal.can(action, scope.id):
        raise PermissionDenied(
            f"this is the local version of {scope.code}: only {scope.code} or the province may change it",
            f"đây là phiên bản riêng của đơn vị {scope.code}: chỉ đơn vị {scope.code} hoặc cấp tỉnh được thay đổi",
            code="permission_denied", hint="ask the province administrator or that commune's chair")


@dataclass(frozen=True)
class Control:
    """Which versions a user may approve, publish and retire: the province-wide ones,
    and the local versions of these communes."""

    province: bool
    communes: frozenset[str]

    def allows(self, scope_unit_code: str | None) -> bool:
        return self.province if scope_unit_code is None else scope_unit_code in self.communes


def control_of(rt, actor: Actor) -> Control:
    """What `authorize(..., "procedure.approve", scope)` would let the actor do, for
    pages that offer only the buttons that work (read in the page's unit when given one)."""
    with reading(rt, actor) as unit:
        units = unit.session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.kind)).all()
        if actor.user_id is None:
            return Control(True, frozenset(code for _, code, kind in units if kind == "commune"))
        principal = load_principal(unit, actor.user_id, unit.now.astimezone(VN_TZ).date())
    can = [(code, kind) for unit_id, code, kind in units if principal.can("procedure.approve", unit_id)]
    return Control(any(kind == "province" for _, kind in can),
                   frozenset(code for code, kind in can if kind == "commune"))


def _principal(uow) -> Principal:
    return load_principal(uow, uow.actor.user_id, uow.now.astimezone(VN_TZ).date())


def _scope_unit(uow, code: str) -> OrgUnit:
    """The commune of a local version, as the actor sees it."""
    unit = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None or (uow.actor.user_id is not None and not _principal(uow).sees(unit.id)):
        raise not_found(f"org unit {code}", f"đơn vị {code}")
    if unit.kind != "commune":
        raise InvalidInput(
            f"a local version belongs to a commune; {code} is a {unit.kind}",
            f"phiên bản riêng chỉ dành cho cấp xã; {code} không phải là xã",
            code="bad_scope", hint="leave scope_unit_code out for a province-wide version",
            problems=[Problem("bad_scope", "Phải là mã của một xã.", "Must be the code of a commune.",
                              field="scope_unit_code")])
    return unit


def _check_local_version(rt, uow, procedure: Procedure | None, model: ProcedureModel, scope: OrgUnit) -> None:
    """A commune adapts a procedure the province has in effect; it cannot add a
    procedure of its own, nor give citizens a longer time limit than the province's."""
    code = model.metadata.procedure_code
    base = None
    if procedure is not None:
        try:
            base = effective_version(uow.session, code, uow.now.astimezone(VN_TZ).date(), org_unit_id=None)
        except Conflict:
            base = None
    if base is None:
        raise Conflict(
            f"procedure {code} has no province-wide version in effect: a local version adapts one",
            f"thủ tục {code} chưa có phiên bản toàn tỉnh đang có hiệu lực: phiên bản riêng của xã phải dựa trên "
            f"phiên bản đó",
            code="no_province_version", hint="the province publishes the procedure first")
    province_model = rt.model(base)
    calendar = calendar_for(uow, scope)
    start = calendar.next_working_instant(uow.now)
    if calendar.due(start, dossier_limit(model, scope)) > calendar.due(start, dossier_limit(province_model, scope)):
        ours = model.metadata.limit_for(scope.category)
        theirs = province_model.metadata.limit_for(scope.category)
        raise InvalidInput(
            f"the local version's time limit {ours} is longer than the province version's {theirs}",
            f"thời hạn giải quyết {ours} của phiên bản riêng dài hơn thời hạn {theirs} của phiên bản toàn tỉnh",
            code="limit_longer_than_province", hint="a commune may shorten the time limit, never lengthen it",
            problems=[Problem("limit_longer_than_province", f"Thời hạn {ours} dài hơn thời hạn toàn tỉnh {theirs}.",
                              f"The limit {ours} is longer than the province's {theirs}.", field="time_limit")])


def _get(session: Session, version_id: int) -> ProcedureVersion:
    version = session.get(ProcedureVersion, version_id)
    if version is None:
        raise NotFound(f"procedure version {version_id} not found", f"không tìm thấy phiên bản {version_id}",
                       code="not_found")
    return version


def _scope_en(version: ProcedureVersion) -> str:
    return f"local version of {version.scope.code}" if version.scope is not None else "province-wide"


def _scope_vi(version: ProcedureVersion) -> str:
    return f"phiên bản riêng của {version.scope.code}" if version.scope is not None else "phiên bản toàn tỉnh"


def _info(version: ProcedureVersion, code: str, created: bool = True) -> VersionInfo:
    return VersionInfo(version.id, code, version.version_no, version.status, version.content_hash,
                       version.effective_from, created, version.legal_effective_from,
                       version.scope.code if version.scope is not None else None)
