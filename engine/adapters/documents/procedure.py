"""The ISO procedure document (quy trình, docs/domain.md §8) generated from a model and its
version records: header, drafted/reviewed/approved block, amendment log, sections 1-7
with the steps table (Step | What | Responsible | Time | Form/result)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.adapters.db.models import Procedure, ProcedureVersion, User
from engine.errors import InvalidInput, NotFound
from engine.domain.fields import field_label
from engine.procedure import ProcedureModel
from engine.domain.vocabulary import BPMN_NS, COMMUNE_CATEGORIES
from engine.procedure.xmlsafe import load_xml
from engine.procedure.parser import read_properties
from engine.procedure.table_facts import components_from_json, evidence_from_json, is_unconfirmed
from engine.domain.vocabulary import COMPONENTS as COMPONENTS_PROPERTY, PROVENANCE as PROVENANCE_PROPERTY
from engine.domain.roles import role_label

from .flowchart import flowchart_svg
from .render import render
from .text import format_date, format_duration, format_fee, format_limit, revision_label

STANDARD = "TCVN ISO 9001:2015 Hệ thống quản lý chất lượng - Các yêu cầu"
ISO_ADMIN_DECISION = "Quyết định số 19/2014/QĐ-TTg về áp dụng TCVN ISO 9001 vào hoạt động của cơ quan hành chính nhà nước"

# How long the records a procedure produces are kept (ISO 9001 7.5.3), by words in the
# record's name; the first rule that matches wins. Civil status registers are kept
# permanently (Luật Hộ tịch 2014, Điều 5); the rest follows the unit's records list.
RETENTION_RULES: tuple[tuple[str, str], ...] = (
    ("sổ đăng ký", "Vĩnh viễn"),
    ("sổ hộ tịch", "Vĩnh viễn"),
    ("sổ theo dõi", "05 năm"),
)
DEFAULT_RETENTION = "Theo Danh mục hồ sơ của UBND xã"


@dataclass(frozen=True)
class VersionRecord:
    """One controlled revision, as the header and the amendment log print it."""

    version_no: int
    status: str  # draft | approved | retired
    change_note: str = ""
    drafted_by: str | None = None
    drafted_at: datetime | None = None
    reviewed_by: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    effective_from: date | None = None
    retired_at: datetime | None = None
    content_hash: str | None = None


@dataclass(frozen=True)
class StepRow:
    number: int
    bpmn_id: str
    name: str
    role: str
    role_label: str
    duration: timedelta
    duration_text: str
    paused: bool
    form_id: str | None
    form_title: str | None
    record: str | None


@dataclass(frozen=True)
class RecordRow:
    name: str
    keeper: str
    retention: str


@dataclass
class ProcedureDocument:
    """Everything the template prints; built by `document_data`, useful to tests and APIs."""

    code: str
    title: str
    procedure_code: str
    procedure_name: str
    field_name: str
    revision: str
    issue_date: str
    effective_date: str
    draft: bool
    unit_name: str
    current: VersionRecord | None
    amendments: list[VersionRecord]
    limit_text: str
    category_limits: list[tuple[str, str]]
    fee: str
    legal_bases: list[str]
    notes: list[str]
    sources: list[str]
    unverified: list[str]
    components: str
    steps: list[StepRow]
    total_text: str
    forms: list[tuple[str, str]]
    records: list[RecordRow]
    roles: list[tuple[str, str]] = field(default_factory=list)
    flowchart: Markup | None = None  # SVG from the model's BPMN diagram; None when it has none


def retention_for(record: str) -> str:
    lowered = record.lower()
    for words, period in RETENTION_RULES:
        if words in lowered:
            return period
    return DEFAULT_RETENTION


def _documentation(model: ProcedureModel) -> list[str]:
    """The process's own <bpmn:documentation> lines (description, sources, open questions)."""
    loaded = load_xml(model.source)
    if loaded.root is None:
        return []
    ns = {"bpmn": BPMN_NS}
    process = loaded.root.find(f"bpmn:process[@id='{model.metadata.process_id}']", ns)
    if process is None:
        return []
    doc = process.find("bpmn:documentation", ns)
    text = (doc.text or "") if doc is not None else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _components_text(model: ProcedureModel) -> str:
    """The dossier components the model carries (process property `components`), numbered,
    marked when their source is unconfirmed; empty when the model has none."""
    loaded = load_xml(model.source)
    process = loaded.root.find(f"{{{BPMN_NS}}}process[@id='{model.metadata.process_id}']") if loaded.root is not None else None
    if process is None:
        return ""
    props = read_properties(process)
    items = components_from_json(props.get(COMPONENTS_PROPERTY, ""))
    if not items:
        return ""
    text = "; ".join(f"{n}. {c.text_vi()}" for n, c in enumerate(items, start=1)) + "."
    evidence = evidence_from_json(props.get(PROVENANCE_PROPERTY, "")).get("components", "")
    return text + (" (Chưa kiểm chứng: " + evidence + ")" if evidence and is_unconfirmed(evidence) else "")


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _form_title(model: ProcedureModel, form_id: str | None) -> str | None:
    if not form_id:
        return None
    schema = model.forms.get(form_id)
    if isinstance(schema, dict) and isinstance(schema.get("title"), str):
        return schema["title"]
    return None


def _current(model: ProcedureModel, records: list[VersionRecord]) -> VersionRecord | None:
    for record in records:
        if record.content_hash == model.content_hash:
            return record
    return records[-1] if records else None


def document_data(model: ProcedureModel, version_records: list[VersionRecord] | None = None, *,
                  unit_name: str | None = None, lang: str = "vi") -> ProcedureDocument:
    meta = model.metadata
    records = sorted(version_records or [], key=lambda r: r.version_no)
    current = _current(model, records)
    draft = current is None or current.status == "draft" or current.approved_at is None
    amendments = [r for r in records if current is None or r.version_no <= current.version_no]

    steps: list[StepRow] = []
    for number, step in enumerate(model.steps_in_order(), start=1):
        steps.append(StepRow(
            number=number, bpmn_id=step.bpmn_id, name=step.name if lang == "vi" else (step.name_en or step.name),
            role=step.role, role_label=role_label(step.role, lang), duration=step.duration,
            duration_text=format_duration(step.duration, lang), paused=step.pauses_clock, form_id=step.form,
            form_title=_form_title(model, step.form), record=step.record,
        ))
    records_rows: list[RecordRow] = []
    seen: set[str] = set()
    for row in steps:
        for record in _split(row.record):
            if record.lower() not in seen:
                seen.add(record.lower())
                records_rows.append(RecordRow(record, row.role_label, retention_for(record)))
    forms: list[tuple[str, str]] = []
    for row in steps:
        if row.form_id and all(row.form_id != f for f, _ in forms):
            forms.append((row.form_id, row.form_title or row.form_id))
    roles: list[tuple[str, str]] = []
    for row in steps:
        if all(row.role != r for r, _ in roles):
            roles.append((row.role, row.role_label))

    doc_lines = _documentation(model)
    notes = [line for line in doc_lines if not line.lower().startswith(("nguồn", "chưa kiểm chứng"))]
    sources = [line.split(":", 1)[1].strip() for line in doc_lines if line.lower().startswith("nguồn")]
    unverified = [line.split(":", 1)[1].strip() for line in doc_lines if line.lower().startswith("chưa kiểm chứng")]
    first_form = model.forms.get(steps[0].form_id) if steps and steps[0].form_id else None
    components = _components_text(model) or (first_form.get("description", "") if isinstance(first_form, dict) else "")

    category_limits = [
        (COMMUNE_CATEGORIES.get(category, (category, category))[0 if lang == "vi" else 1],
         format_limit(limit, meta.time_basis, lang))
        for category, limit in sorted(meta.limits_by_category.items())
    ]
    revision = revision_label(current.version_no if current else meta.revision or 1)
    return ProcedureDocument(
        code=meta.iso_document_code or f"QT-{meta.procedure_code}",
        title=meta.name if lang == "vi" else (meta.name_en or meta.name),
        procedure_code=meta.procedure_code, procedure_name=meta.name, field_name=field_label(meta.field, lang),
        revision=revision,
        issue_date=format_date(current.approved_at) if current and current.approved_at else "",
        effective_date=format_date(current.effective_from) if current and current.effective_from else "",
        draft=draft, unit_name=unit_name or "", current=current, amendments=amendments,
        limit_text=format_limit(meta.time_limit, meta.time_basis, lang), category_limits=category_limits,
        fee=format_fee(meta.fee), legal_bases=_split(meta.legal_basis), notes=notes, sources=sources,
        unverified=unverified, components=components, steps=steps,
        total_text=format_duration(model.longest_duration, lang), forms=forms, records=records_rows, roles=roles,
        flowchart=flowchart_svg(model.source, title=f"Lưu đồ quy trình {meta.name}"),
    )


def procedure_document(model: ProcedureModel, version_records: list[VersionRecord] | None = None, lang: str = "vi",
                       *, unit_name: str | None = None) -> str:
    """The procedure document as a self-contained HTML page (print it with `to_pdf`).

    Without version records the header says the document is a draft (dự thảo).
    """
    if lang != "vi":
        raise InvalidInput(f"procedure documents are printed in Vietnamese only (got lang={lang!r})",
                           f"tài liệu quy trình chỉ in bằng tiếng Việt (nhận được lang={lang!r})",
                           code="unsupported_language", hint="use lang='vi'")
    doc = document_data(model, version_records, unit_name=unit_name, lang=lang)
    return render("procedure.html", doc=doc, lang=lang, standard=STANDARD, iso_admin=ISO_ADMIN_DECISION)


def version_records(session: Session, procedure_code: str) -> list[VersionRecord]:
    """The version history of a stored procedure, oldest first."""
    procedure = session.scalar(select(Procedure).where(Procedure.code == procedure_code))
    if procedure is None:
        raise NotFound(f"procedure {procedure_code} is not in the library",
                       f"thủ tục {procedure_code} chưa có trong thư viện", code="unknown_procedure",
                       hint="publish its model first (`isoflow publish FILE`), or give the path of a .bpmn file")
    author, approver = aliased(User), aliased(User)
    rows = session.execute(
        select(ProcedureVersion, author.full_name, approver.full_name)
        .outerjoin(author, author.id == ProcedureVersion.created_by_id)
        .outerjoin(approver, approver.id == ProcedureVersion.approved_by_id)
        .where(ProcedureVersion.procedure_id == procedure.id)
        .order_by(ProcedureVersion.version_no)
    ).all()
    return [
        VersionRecord(
            version_no=v.version_no, status=v.status, change_note=v.change_note or "", drafted_by=drafted,
            drafted_at=v.created_at, approved_by=approved, approved_at=v.approved_at, effective_from=v.effective_from,
            retired_at=v.retired_at, content_hash=v.content_hash,
        )
        for v, drafted, approved in rows
    ]


def latest_version(session: Session, procedure_code: str) -> ProcedureVersion:
    """The newest stored version of a procedure (any status), for documenting it."""
    version = session.scalar(
        select(ProcedureVersion).join(Procedure).where(Procedure.code == procedure_code)
        .order_by(ProcedureVersion.version_no.desc()).limit(1)
    )
    if version is None:
        raise NotFound(f"procedure {procedure_code} is not in the library",
                       f"thủ tục {procedure_code} chưa có trong thư viện", code="unknown_procedure",
                       hint="publish its model first (`isoflow publish FILE`), or give the path of a .bpmn file")
    return version
