"""The forms the one-stop desk prints for a dossier (docs/domain.md §3, §5).

01 receipt and appointment slip, 02 supplementation request, 03 refusal, 04 apology
letter with a new appointment, 05 stop notice, 06 process control sheet, and the
commune's dossier register (07) in the numbers of Circular 03/2025/TT-VPCP, the default
edition (the 2018 edition numbers the control sheet 05 and the register 06). Each form is rendered from a
plain data class; the builders read those from the database through the read models
(`engine.views.dossiers`), so the permission policy applies: another commune's dossier
answers NotFound. Printed numbers are data (`FORM_EDITIONS`): Circular 03/2025/TT-VPCP
renumbers the forms of Circular 01/2018/TT-VPCP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from urllib.parse import quote

from sqlalchemy import select

from engine.domain.lifecycle import Outcome, Result, StepState
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.procedure.table_facts import COMPONENT_KINDS
from engine.adapters.db.models import Dossier, Event, OrgUnit, User
from engine.errors import Conflict, InvalidInput, Problem
from engine.domain.roles import role_label
from engine.views import dossiers as views
from engine.domain.paging import MAX_PAGE
from engine.unit_calendars import calendar_for

from .render import qr_svg, render, to_pdf

DOCUMENTS = Actor.system("documents")

FormKind = Literal["receipt", "supplementation", "refusal", "apology", "stop", "control_sheet", "register"]


@dataclass(frozen=True)
class FormSpec:
    kind: FormKind
    number: str  # as printed: "Mẫu số 01"
    title: str
    basis: str


FORM_EDITIONS: dict[str, dict[FormKind, FormSpec]] = {
    "01/2018/TT-VPCP": {
        spec.kind: spec
        for spec in (
            FormSpec("receipt", "01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Thông tư 01/2018/TT-VPCP"),
            FormSpec("supplementation", "02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Thông tư 01/2018/TT-VPCP"),
            FormSpec("refusal", "03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ", "Thông tư 01/2018/TT-VPCP"),
            FormSpec("apology", "04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Thông tư 01/2018/TT-VPCP"),
            FormSpec("control_sheet", "05", "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Thông tư 01/2018/TT-VPCP"),
        )
    },
    # Annex I of Circular 03/2025/TT-VPCP (15/9/2025), as summarised by thuviennhadat.vn
    # (sources in EDITIONS below). Its 07 (dossier register) is REGISTER_SPECS below: it is printed per commune, not per dossier.
    "03/2025/TT-VPCP": {
        spec.kind: spec
        for spec in (
            FormSpec("receipt", "01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Thông tư 03/2025/TT-VPCP"),
            FormSpec("supplementation", "02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Thông tư 03/2025/TT-VPCP"),
            FormSpec("refusal", "03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ", "Thông tư 03/2025/TT-VPCP"),
            FormSpec("apology", "04", "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
                     "Thông tư 03/2025/TT-VPCP"),
            FormSpec("stop", "05", "Thông báo dừng giải quyết hồ sơ", "Thông tư 03/2025/TT-VPCP"),
            FormSpec("control_sheet", "06", "Phiếu kiểm soát quá trình giải quyết hồ sơ", "Thông tư 03/2025/TT-VPCP"),
        )
    },
}


@dataclass(frozen=True)
class Edition:
    """The one-stop rules an edition of the forms belongs to, as section 3 of the ISO
    procedure document cites them, with the pages they were read from."""

    decree: str
    circular: str
    decree_sources: tuple[str, ...]
    circular_sources: tuple[str, ...]
    confirmed: bool  # number, date and the forms annex read from a page; False: printed "chưa kiểm chứng"
    superseded: tuple[str, ...] = ()  # one-stop documents this edition replaces (not cited beside it)


EDITIONS: dict[str, Edition] = {
    "01/2018/TT-VPCP": Edition(
        decree="Nghị định số 61/2018/NĐ-CP về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục "
               "hành chính (sửa đổi, bổ sung bởi Nghị định số 107/2021/NĐ-CP)",
        circular="Thông tư số 01/2018/TT-VPCP của Văn phòng Chính phủ hướng dẫn thi hành Nghị định số 61/2018/NĐ-CP",
        decree_sources=(), circular_sources=(), confirmed=False,
    ),
    # The circular's text (number, date, scope: "các biểu mẫu trong giải quyết thủ tục hành chính") on
    # hethongphapluat.com; Thanh Hóa's Decision 128/2025/QĐ-UBND cites it with the same date; the list
    # of forms in its Annex I as thuviennhadat.vn summarises it. Decree 367/2025/NĐ-CP amends 118/2025
    # (ngaynay.vn, 06/01/2026).
    "03/2025/TT-VPCP": Edition(
        decree="Nghị định số 118/2025/NĐ-CP ngày 09/6/2025 của Chính phủ về thực hiện thủ tục hành chính theo cơ chế "
               "một cửa, một cửa liên thông tại Bộ phận Một cửa và Cổng Dịch vụ công quốc gia (sửa đổi, bổ sung bởi "
               "Nghị định số 367/2025/NĐ-CP)",
        circular="Thông tư số 03/2025/TT-VPCP ngày 15/9/2025 của Bộ trưởng, Chủ nhiệm Văn phòng Chính phủ hướng dẫn "
                 "thi hành một số nội dung của Nghị định số 118/2025/NĐ-CP (Phụ lục I: biểu mẫu giải quyết thủ tục "
                 "hành chính)",
        decree_sources=(
            "https://www.hethongphapluat.vn/nghi-dinh-118-2025-nd-cp-thuc-hien-thu-tuc-hanh-chinh-theo-co-che-mot-cua-"
            "mot-cua-lien-thong-tai-bo-phan-mot-cua-va-cong-dich-vu-cong-quoc-gia.html",
            "https://ngaynay.vn/sua-doi-quy-dinh-lien-quan-den-to-chuc-bo-phan-mot-cua-tai-cac-dia-phuong-post168118.html",
        ),
        circular_sources=(
            "https://hethongphapluat.com/thong-tu-03-2025-tt-vpcp-huong-dan-nghi-dinh-118-2025-nd-cp-thuc-hien-thu-tuc-"
            "hanh-chinh-theo-co-che-mot-cua-mot-cua-lien-thong-tai-bo-phan-mot-cua-va-cong-dich-vu-cong-quoc-gia-do-van-"
            "phong-chinh-phu-ban-hanh.html",
            "https://thuviennhadat.vn/phap-luat/tai-file-word-bieu-mau-thong-tu-03-2025-tt-vpcp-ve-giai-quyet-thu-tuc-"
            "hanh-chinh-tai-bo-phan-mot-cua-708489.html",
        ),
        confirmed=True,
        superseded=("61/2018/NĐ-CP", "107/2021/NĐ-CP", "01/2018/TT-VPCP"),
    ),
}
# The one place the edition in force is chosen: the circular guiding Decree 118/2025/NĐ-CP
# (sources in EDITIONS). Dossiers received before 15/9/2025 can still be printed with
# edition="01/2018/TT-VPCP".
DEFAULT_EDITION = "03/2025/TT-VPCP"
FORM_KINDS: tuple[FormKind, ...] = ("receipt", "supplementation", "refusal", "apology", "stop", "control_sheet")

CHANNEL_LABELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua dịch vụ bưu chính"}
RESULT_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn",
                 "within_limit": "Trong hạn (đang xử lý)", "overdue": "Quá hạn (đang xử lý)"}
WAITING_OPEN = "Chờ công dân (không tính hạn)"
WAITING_DONE = "Xong (không tính hạn)"
OUTCOME_LABELS = {"approve": "Đồng ý", "refuse": "Từ chối", "supplement": "Yêu cầu bổ sung"}


def form_spec(form: str, edition: str = DEFAULT_EDITION) -> FormSpec:
    """A form by its printed number in `edition` ("01") or by its kind ("receipt")."""
    specs = FORM_EDITIONS.get(edition)
    if specs is None:
        raise InvalidInput(f"unknown form edition {edition!r}", f"không có bộ mẫu {edition!r}", code="unknown_edition",
                           hint=f"use one of: {', '.join(FORM_EDITIONS)}")
    wanted = form.strip()
    for spec in specs.values():
        if wanted in (spec.number, spec.kind, spec.number.lstrip("0")):
            return spec
    choices = ", ".join(f"{s.number} ({s.kind})" for s in specs.values())
    raise InvalidInput(f"unknown dossier form {form!r}", f"không có mẫu phiếu {form!r}", code="unknown_form",
                       hint=f"choose one of: {choices}",
                       problems=[Problem("unknown_form", f"Mẫu {form!r} không tồn tại.", f"No form {form!r}.",
                                         field="form")])


# --- data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierHeader:
    """What every dossier form states about the dossier and the commune."""

    unit_name: str
    unit_address: str
    province_name: str
    dossier_code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    applicant_id_number: str
    applicant_address: str
    applicant_phone: str
    channel: str
    received_at: datetime
    received_by: str
    due_at: datetime
    original_due_at: datetime


@dataclass(frozen=True)
class SlipData:
    """Form 01. `pin` is shown only when printing at receipt: the database keeps its hash."""

    header: DossierHeader
    spec: FormSpec
    pin: str | None = None
    lookup_url: str | None = None  # the public lookup page for this dossier (QR code)
    documents: list[str] = field(default_factory=list)
    # the papers actually received (name, kind as printed, copies), ticked at the desk
    papers: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class SupplementationData:
    header: DossierHeader
    spec: FormSpec
    requested_at: datetime
    requested_by: str
    requesting_role: str
    reason: str


@dataclass(frozen=True)
class RefusalData:
    header: DossierHeader
    spec: FormSpec
    refused_at: datetime
    refused_by: str
    reason: str


@dataclass(frozen=True)
class ApologyData:
    header: DossierHeader
    spec: FormSpec
    issued_at: datetime
    reason: str
    previous_due_at: datetime
    new_due_at: datetime


@dataclass(frozen=True)
class StopData:
    header: DossierHeader
    spec: FormSpec
    stopped_at: datetime
    reason: str


@dataclass(frozen=True)
class ControlRow:
    number: int
    step: str
    from_label: str
    to_label: str
    handed_over_at: datetime
    step_due_at: datetime | None
    completed_at: datetime | None
    result: str  # label: Trước hạn / Đúng hạn / Quá hạn / Trong hạn (đang xử lý) / ...
    note: str


@dataclass(frozen=True)
class ControlSheetData:
    header: DossierHeader
    spec: FormSpec
    rows: list[ControlRow]
    printed_at: datetime


FormData = SlipData | SupplementationData | RefusalData | ApologyData | StopData | ControlSheetData
TEMPLATES = {"receipt": "form_receipt.html", "supplementation": "form_supplementation.html",
             "refusal": "form_refusal.html", "apology": "form_apology.html", "stop": "form_stop.html",
             "control_sheet": "form_control_sheet.html"}


def render_form(data: FormData) -> str:
    """One dossier form as a self-contained HTML page."""
    qr = None
    if isinstance(data, SlipData) and data.lookup_url:
        qr = qr_svg(data.lookup_url, scale=2)
    return render(TEMPLATES[data.spec.kind], d=data, h=data.header, spec=data.spec, qr=qr,
                  results=RESULT_LABELS)


# --- builders from the database -------------------------------------------------------


def lookup_url_for(base: str, dossier_code: str) -> str:
    """The public lookup page of one dossier: the base URL with `code=` added."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}code={quote(dossier_code, safe='')}"


def _header(rt, view: views.DossierView) -> DossierHeader:
    with rt.read(DOCUMENTS) as reading:  # the view was read with the actor's permission
        session = reading.session
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == view.org_unit_code))
        province = session.get(OrgUnit, unit.parent_id) if unit is not None and unit.parent_id else None
        received_by_id = session.scalar(select(Dossier.received_by_id).where(Dossier.id == view.id))
        clerk = session.get(User, received_by_id) if received_by_id else None
        return DossierHeader(
            unit_name=view.org_unit_name, unit_address=unit.address if unit is not None else "",
            province_name=province.name if province is not None else "", dossier_code=view.code,
            procedure_code=view.procedure_code, procedure_name=view.procedure_name,
            applicant_name=view.applicant_name, applicant_id_number=view.applicant_id_number,
            applicant_address=view.applicant_address, applicant_phone=view.applicant_phone,
            channel=CHANNEL_LABELS.get(view.channel, str(view.channel)), received_at=view.received_at,
            received_by=clerk.full_name if clerk is not None else "", due_at=view.due_at,
            original_due_at=view.original_due_at,
        )


def form_applies(kind: FormKind, view: views.DossierView) -> bool:
    """Whether a dossier has this form to print: the one rule, for the builders below
    (which refuse the others with `form_not_applicable`) and for the pages' print links."""
    if kind == "supplementation":
        return view.supplement_count > 0
    if kind == "refusal":
        return view.result == Result.REFUSED
    if kind == "apology":
        return view.apology_issued_at is not None and view.apology_due_at is not None
    if kind == "stop":
        return view.result == Result.STOPPED
    return True  # the slip and the control sheet: every dossier


def printable_forms(view: views.DossierView, edition: str = DEFAULT_EDITION) -> list[FormSpec]:
    """The forms of `edition` this dossier can print, in their printed order."""
    return sorted((spec for spec in FORM_EDITIONS[edition].values() if form_applies(spec.kind, view)),
                  key=lambda spec: spec.number)


def _no_form(view: views.DossierView, spec: FormSpec, en: str, vi: str) -> Conflict:
    return Conflict(f"dossier {view.code}: {en}, so there is no {spec.title.lower()} to print",
                    f"hồ sơ {view.code}: {vi}, không có {spec.title.lower()} để in", code="form_not_applicable")


def slip_data(rt, actor: Actor, dossier_ref: int | str, *, pin: str | None = None, lookup_url: str | None = None,
              edition: str = DEFAULT_EDITION) -> SlipData:
    view = views.dossier_view(rt, actor, dossier_ref)
    base = lookup_url or rt.settings.public_lookup_url
    documents = view.data.get("documents") if isinstance(view.data.get("documents"), list) else []
    received = view.data.get("components_received") if isinstance(view.data.get("components_received"), list) else []
    papers = [(str(p.get("name", "")), COMPONENT_KINDS.get(str(p.get("kind")), (str(p.get("kind", "")),))[0],
               int(p.get("count") or 1)) for p in received if isinstance(p, dict) and p.get("name")]
    return SlipData(_header(rt, view), form_spec("receipt", edition), pin=pin,
                    lookup_url=lookup_url_for(base, view.code) if base else None,
                    documents=[str(d) for d in documents], papers=papers)


def supplementation_data(rt, actor: Actor, dossier_ref: int | str, *, edition: str = DEFAULT_EDITION) -> SupplementationData:
    view = views.dossier_view(rt, actor, dossier_ref)
    spec = form_spec("supplementation", edition)
    requests = [r for r in views.timeline(rt, actor, view.id) if r.outcome == Outcome.SUPPLEMENT and r.completed_at]
    if not form_applies("supplementation", view) or not requests:
        raise _no_form(view, spec, "no supplementation was requested", "chưa có yêu cầu bổ sung")
    last = requests[-1]
    return SupplementationData(_header(rt, view), spec, requested_at=last.completed_at,
                               requested_by=last.completed_by or "", requesting_role=role_label(last.to_role),
                               reason=_pause_reason(view, last.completed_at) or last.note)


def _pause_reason(view: views.DossierView, requested_at: datetime | None) -> str:
    """What the citizen was asked for: kept on the pause the request opened."""
    for pause in view.pauses:
        if pause.started_at == requested_at and pause.reason:
            return pause.reason
    return ""


def refusal_data(rt, actor: Actor, dossier_ref: int | str, *, edition: str = DEFAULT_EDITION) -> RefusalData:
    view = views.dossier_view(rt, actor, dossier_ref)
    spec = form_spec("refusal", edition)
    if not form_applies("refusal", view):
        raise _no_form(view, spec, "the dossier was not refused", "hồ sơ không bị từ chối")
    decisions = [r for r in views.timeline(rt, actor, view.id) if r.outcome == Outcome.REFUSE and r.completed_at]
    if decisions:  # refused by a step of the model
        last = decisions[-1]
        return RefusalData(_header(rt, view), spec, refused_at=last.completed_at, refused_by=last.completed_by or "",
                           reason=last.note or view.end_reason or "")
    # refused by the chair outside the model (services.dossiers.refuse)
    return RefusalData(_header(rt, view), spec, refused_at=view.finished_at or view.received_at, refused_by="",
                       reason=view.end_reason or "")


def apology_data(rt, actor: Actor, dossier_ref: int | str, *, edition: str = DEFAULT_EDITION) -> ApologyData:
    view = views.dossier_view(rt, actor, dossier_ref)
    spec = form_spec("apology", edition)
    if not form_applies("apology", view):
        raise _no_form(view, spec, "no apology letter was issued", "chưa lập phiếu xin lỗi")
    with rt.read(actor) as reading:
        session = reading.session
        reason = session.scalar(select(Dossier.apology_reason).where(Dossier.id == view.id)) or ""
        snapshot = session.scalar(
            select(Event.before).where(Event.entity_type == "dossier", Event.entity_id == str(view.id),
                                       Event.kind == "dossier.apology_issued").order_by(Event.id.desc()).limit(1))
    # The appointment the letter apologises for is the one in force when it was issued
    # (pauses may have moved it since the slip); the event log keeps it.
    previous = view.original_due_at
    if isinstance(snapshot, dict) and isinstance(snapshot.get("due_at"), str):
        previous = datetime.fromisoformat(snapshot["due_at"])
    return ApologyData(_header(rt, view), spec, issued_at=view.apology_issued_at, reason=reason,
                       previous_due_at=previous, new_due_at=view.apology_due_at)


def stop_data(rt, actor: Actor, dossier_ref: int | str, *, edition: str = DEFAULT_EDITION) -> StopData:
    view = views.dossier_view(rt, actor, dossier_ref)
    spec = form_spec("stop", edition)
    if not form_applies("stop", view):
        raise _no_form(view, spec, "processing was not stopped", "hồ sơ không bị dừng giải quyết")
    return StopData(_header(rt, view), spec, stopped_at=view.finished_at or view.received_at,
                    reason=view.end_reason or "")


def control_sheet_data(rt, actor: Actor, dossier_ref: int | str, *, edition: str = DEFAULT_EDITION) -> ControlSheetData:
    """Form 05: one row per hand-over, straight from the task projection."""
    view = views.dossier_view(rt, actor, dossier_ref)
    now = rt.clock.now()
    with rt.read(actor) as unit:
        calendar = calendar_for(unit, unit.session.scalar(select(OrgUnit).where(OrgUnit.code == view.org_unit_code)))
    rows: list[ControlRow] = []
    for number, row in enumerate(views.timeline(rt, actor, view.id), start=1):
        if row.state == StepState.COMPLETED and row.result:
            result = RESULT_LABELS[row.result]
        elif row.state == StepState.OPEN and row.step_due_at is not None:
            result = RESULT_LABELS[calendar.classify_open(row.step_due_at, now)]
        elif row.state == StepState.OPEN:
            result = WAITING_OPEN
        elif row.state == StepState.COMPLETED and row.step_due_at is None:
            result = WAITING_DONE  # time spent waiting on the citizen has no step limit
        elif row.state == StepState.CANCELLED:
            result = "Dừng (hồ sơ kết thúc)"
        else:
            result = ""
        from_label = role_label(row.from_role) if row.from_role else "Bộ phận một cửa (tiếp nhận)"
        if row.from_user:
            from_label += f" - {row.from_user}"
        to_label = role_label(row.to_role) + (f" - {row.to_user}" if row.to_user else "")
        reason = _pause_reason(view, row.completed_at) if row.outcome == Outcome.SUPPLEMENT else ""
        parts = (OUTCOME_LABELS.get(row.outcome or "", ""), row.note, reason if reason not in row.note else "")
        note = "; ".join(part for part in parts if part)
        rows.append(ControlRow(number, row.step, from_label, to_label, row.handed_over_at, row.step_due_at,
                               row.completed_at, result, note))
    return ControlSheetData(_header(rt, view), form_spec("control_sheet", edition), rows, printed_at=now)


BUILDERS = {"supplementation": supplementation_data, "refusal": refusal_data, "apology": apology_data,
            "stop": stop_data, "control_sheet": control_sheet_data}


def render_dossier_form(rt, actor: Actor, dossier_ref: int | str, form: str = "01", fmt: str = "html", *,
                        pin: str | None = None, lookup_url: str | None = None,
                        edition: str = DEFAULT_EDITION) -> bytes:
    """A dossier form as UTF-8 HTML or PDF bytes, for the API, the web pages and the CLI.

    `form` is the printed number in `edition` ("01".."05" in 01/2018, "01".."06" in
    03/2025) or the kind ("receipt", "supplementation", "refusal", "apology", "stop",
    "control_sheet").
    `pin` only for the slip printed at receipt; `lookup_url` overrides the configured
    public lookup page. Another commune's dossier raises NotFound; a form that does not
    apply (no refusal, no apology yet) raises Conflict.
    """
    if fmt not in ("html", "pdf"):
        raise InvalidInput(f"unknown format {fmt!r}", f"định dạng {fmt!r} không hỗ trợ", code="bad_format",
                           hint="use html or pdf")
    spec = form_spec(form, edition)
    if spec.kind == "receipt":
        data: FormData = slip_data(rt, actor, dossier_ref, pin=pin, lookup_url=lookup_url, edition=edition)
    else:
        data = BUILDERS[spec.kind](rt, actor, dossier_ref, edition=edition)
    html = render_form(data)
    return to_pdf(html) if fmt == "pdf" else html.encode("utf-8")


# --- the dossier register (sổ theo dõi hồ sơ) ---------------------------------------------


@dataclass(frozen=True)
class RegisterRow:
    number: int
    dossier_code: str
    procedure_name: str
    applicant_name: str
    applicant_contact: str
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
    result: str  # Trước hạn / Đúng hạn / Quá hạn for finished dossiers, else the status label
    note: str


@dataclass(frozen=True)
class RegisterData:
    unit_name: str
    spec: FormSpec
    received_from: date
    received_to: date
    rows: list[RegisterRow]
    printed_at: datetime


REGISTER_SPECS = {
    "01/2018/TT-VPCP": FormSpec("register", "06", "Sổ theo dõi hồ sơ", "Thông tư 01/2018/TT-VPCP"),
    "03/2025/TT-VPCP": FormSpec("register", "07", "Sổ theo dõi hồ sơ", "Thông tư 03/2025/TT-VPCP"),
}
END_NOTES = {"refused": "Từ chối", "withdrawn": "Công dân rút hồ sơ", "stopped": "Dừng giải quyết"}


def register_data(rt, actor: Actor, unit_code: str, received_from: date, received_to: date, *,
                  edition: str = DEFAULT_EDITION) -> RegisterData:
    """The register of a commune's dossiers received between two days (inclusive), by receipt time."""
    from engine.permissions import load_principal, not_found, require

    form_spec("01", edition)  # an unknown edition is refused the same way as for the forms
    if received_to < received_from:
        raise InvalidInput("the period ends before it starts", "khoảng thời gian kết thúc trước khi bắt đầu",
                           code="bad_period", problems=[Problem("bad_period", "Ngày kết thúc trước ngày bắt đầu.",
                                                                "received_to is before received_from.",
                                                                field="received_to")])
    now = rt.clock.now()
    with rt.read(actor) as reading:
        unit = reading.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if unit is None:
            raise not_found(f"org unit {unit_code}", f"đơn vị {unit_code}")
        if actor.user_id is not None:
            require(load_principal(reading, actor.user_id, now.astimezone(VN_TZ).date()), "dossier.view", unit.id,
                    what=f"org unit {unit_code}")
        unit_name = unit.name
    summaries: list[views.DossierSummary] = []
    filters = views.DossierFilter(unit_code=unit_code, received_from=received_from, received_to=received_to,
                                  sort="received_at")
    while True:
        page, total = views.search_dossiers(rt, actor, filters, limit=MAX_PAGE, offset=len(summaries))
        summaries.extend(page)
        if not page or len(summaries) >= total:
            break
    with rt.read(actor) as reading:
        session = reading.session
        details = {d.id: d for d in session.scalars(select(Dossier).where(Dossier.id.in_([s.id for s in summaries])))}
        rows = []
        for number, summary in enumerate(summaries, start=1):
            dossier = details[summary.id]
            contact = ", ".join(part for part in (dossier.applicant_address, dossier.applicant_phone) if part)
            result = RESULT_LABELS.get(summary.classification or "", summary.status_label)
            rows.append(RegisterRow(number, summary.code, summary.procedure_name, summary.applicant_name, contact,
                                    summary.received_at, summary.due_at, summary.finished_at, dossier.returned_at,
                                    result, END_NOTES.get(summary.result or "", "")))
    return RegisterData(unit_name, REGISTER_SPECS[edition], received_from, received_to, rows, now)


def render_register(rt, actor: Actor, unit_code: str, received_from: date, received_to: date, fmt: str = "html", *,
                    edition: str = DEFAULT_EDITION) -> bytes:
    """The dossier register as UTF-8 HTML or PDF bytes (A4 landscape)."""
    if fmt not in ("html", "pdf"):
        raise InvalidInput(f"unknown format {fmt!r}", f"định dạng {fmt!r} không hỗ trợ", code="bad_format",
                           hint="use html or pdf")
    data = register_data(rt, actor, unit_code, received_from, received_to, edition=edition)
    html = render("register.html", d=data, spec=data.spec)
    return to_pdf(html) if fmt == "pdf" else html.encode("utf-8")
