"""The ISO procedure document (quy trình, docs/domain.md §8) generated from a model and its
version records: header, drafted/reviewed/approved block, amendment log, sections 1-7
with the steps table (Step | What | Responsible | Time | Form/result)."""
from __future__ import annotations

import re
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
from engine.procedure.table_facts import (
    Component, LegalForm, components_from_json, evidence_from_json, is_unconfirmed, legal_forms_from_json,
)
from engine.domain.vocabulary import COMPONENTS as COMPONENTS_PROPERTY, PROVENANCE as PROVENANCE_PROPERTY
from engine.domain.vocabulary import LEGAL_FORMS as LEGAL_FORMS_PROPERTY, RESULT as RESULT_PROPERTY
from engine.domain.roles import role_label
from engine.domain.textmatch import fold

from .dossier_forms import DEFAULT_EDITION, EDITIONS, FORM_EDITIONS, REGISTER_SPECS, FormSpec

from .flowchart import flowchart_svg
from .render import render
from .text import format_date, format_duration, format_fee, format_limit, revision_label

STANDARD = "TCVN ISO 9001:2015 Hệ thống quản lý chất lượng - Các yêu cầu"
ISO_ADMIN_DECISION = "Quyết định số 19/2014/QĐ-TTg về áp dụng TCVN ISO 9001 vào hoạt động của cơ quan hành chính nhà nước"

UNCONFIRMED = "chưa kiểm chứng"


@dataclass(frozen=True)
class RetentionRule:
    """How long a kind of record is kept (ISO 9001 7.5.3), from the archive rule a commune
    applies. `words` (accent-folded) must all occur in the record's name; `fields` limits the
    rule to procedures of those fields. A rule without `source` is printed "chưa kiểm chứng"."""

    words: tuple[str, ...]
    period: str
    basis: str = ""  # document number, article and clause
    source: str = ""  # the page the rule was read from
    fields: tuple[str, ...] = ()

    @property
    def confirmed(self) -> bool:
        return bool(self.basis and self.source)


# The first rule that matches wins. Add a rule only with the document that sets the period
# and the page it was read from (docs/documents.md).
RETENTION_RULES: tuple[RetentionRule, ...] = (
    RetentionRule(("so dang ky",), "Vĩnh viễn", "Nghị định số 123/2015/NĐ-CP, Điều 12 khoản 3 (Sổ hộ tịch được lưu "
                  "trữ vĩnh viễn)", "https://danluatold.thuvienphapluat.vn/quy-dinh-phap-luat-ve-thoi-gian-luu-tru-"
                  "so-ho-tich-173380.aspx", fields=("civil_status",)),
    RetentionRule(("so ho tich",), "Vĩnh viễn", "Nghị định số 123/2015/NĐ-CP, Điều 12 khoản 3 (Sổ hộ tịch được lưu "
                  "trữ vĩnh viễn)", "https://danluatold.thuvienphapluat.vn/quy-dinh-phap-luat-ve-thoi-gian-luu-tru-"
                  "so-ho-tich-173380.aspx"),
)
# Everything else: the commune's records list (Danh mục hồ sơ), whose periods follow the Ministry
# of Home Affairs' rules on retention periods; no page stating those periods has been read yet.
DEFAULT_RETENTION = RetentionRule((), "Theo Danh mục hồ sơ của UBND xã")

# One-stop records as the steps name them (any edition's number in brackets): the kind of form.
_ONE_STOP_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("so theo doi ho so",), "register"),
    (("tiep nhan", "hen tra"), "receipt"),
    (("yeu cau bo sung",), "supplementation"),
    (("phieu tu choi",), "refusal"),
    (("phieu kiem soat",), "control_sheet"),
    (("xin loi",), "apology"),
    (("dung giai quyet ho so",), "stop"),
)
_FORM_NUMBER = re.compile(r"\s*\((?:theo\s+)?mẫu(?:\s+số)?\s*\d+[^)]*\)", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^)]*\)")


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
    form_id: str | None  # the software's form: for APIs and tests, never printed
    form_title: str | None
    record: str | None
    documents: tuple[str, ...] = ()  # what the step produces, as printed (legal form numbers)


@dataclass(frozen=True)
class RecordRow:
    name: str
    keeper: str
    retention: str
    basis: str = ""  # the archive rule: document, article, clause (and the page in `source`)
    source: str = ""

    @property
    def confirmed(self) -> bool:
        return bool(self.basis and self.source)


@dataclass(frozen=True)
class FormRow:
    """Section 6: a legal form (code as the issuing document numbers it), never a software id."""

    code: str
    name: str
    issued_by: str
    unconfirmed: bool = False
    note: str = ""


@dataclass(frozen=True)
class Reference:
    text: str
    sources: tuple[str, ...] = ()
    unconfirmed: bool = False


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
    forms: list[FormRow]
    records: list[RecordRow]
    roles: list[tuple[str, str]] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)  # section 3 after the ISO standard and decision
    edition: str = DEFAULT_EDITION
    flowchart: Markup | None = None  # SVG from the model's BPMN diagram; None when it has none


def retention_rule(record: str, field: str = "") -> RetentionRule:
    folded = fold(record)
    for rule in RETENTION_RULES:
        if all(w in folded for w in rule.words) and (not rule.fields or field in rule.fields):
            return rule
    return DEFAULT_RETENTION


def retention_for(record: str, field: str = "") -> str:
    return retention_rule(record, field).period


def one_stop_kind(record: str) -> str | None:
    """The one-stop form a record names ("Sổ theo dõi hồ sơ (mẫu 06)" -> register), or None."""
    folded = fold(record)
    for words, kind in _ONE_STOP_WORDS:
        if all(w in folded for w in words):
            return kind
    return None


def one_stop_specs(edition: str = DEFAULT_EDITION) -> list[FormSpec]:
    """The edition's one-stop forms in number order, the dossier register included."""
    specs = list(FORM_EDITIONS[edition].values()) + [REGISTER_SPECS[edition]]
    return sorted(specs, key=lambda spec: spec.number)


def _spec(kind: str, edition: str) -> FormSpec | None:
    return next((spec for spec in one_stop_specs(edition) if spec.kind == kind), None)


def _form_label(spec: FormSpec) -> str:
    return f"{spec.title} (Mẫu số {spec.number})"


def record_name(record: str, edition: str = DEFAULT_EDITION) -> str:
    """A record as the document prints it: one-stop forms by their edition's title and number
    (a table's "(mẫu 06)" is another edition's number), anything else without a form number."""
    kind = one_stop_kind(record)
    spec = _spec(kind, edition) if kind else None
    if spec is not None:
        return _form_label(spec)
    return _FORM_NUMBER.sub("", record).strip()


def _record_key(record: str, edition: str) -> str:
    kind = one_stop_kind(record)
    return "one-stop:" + kind if kind else fold(_PARENTHESES.sub(" ", record))


def _is_result(record: str, results: list[str]) -> bool:
    """A result handed to the citizen (or its draft), not a record the commune keeps; a register
    (sổ) the commune writes the result into stays a record."""
    key = fold(_PARENTHESES.sub(" ", record))
    if not key or key.startswith("so ") or one_stop_kind(record):
        return False
    words = key.split()
    # the same document in other words ("Trích lục thay đổi, cải chính, bổ sung hộ tịch" for
    # the result "Trích lục thay đổi, cải chính, bổ sung thông tin hộ tịch"): same first three words
    return any(r and (r in key or key in r or (len(r.split()) >= 3 and words[:3] == r.split()[:3]))
               for r in results)


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


def _process_properties(model: ProcedureModel) -> dict[str, str]:
    loaded = load_xml(model.source)
    process = loaded.root.find(f"{{{BPMN_NS}}}process[@id='{model.metadata.process_id}']") if loaded.root is not None else None
    return read_properties(process) if process is not None else {}


def _components_text(model: ProcedureModel) -> str:
    """The dossier components the model carries (process property `components`), numbered,
    marked when their source is unconfirmed; empty when the model has none."""
    props = _process_properties(model)
    if not props:
        return ""
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


def _records(steps: list[StepRow], result: str, field: str, edition: str, has_components: bool) -> list[RecordRow]:
    """Section 7: what the commune keeps, once each (the same one-stop form under another
    spelling or number is one record), without the results handed to the citizen."""
    results = [fold(_PARENTHESES.sub(" ", r)) for r in _split(result)]
    rows: list[RecordRow] = []
    seen: set[str] = set()

    def add(name: str, keeper: str) -> None:
        rule = retention_rule(name, field)
        rows.append(RecordRow(name, keeper, rule.period, rule.basis, rule.source))

    officer = next((s for s in steps if s.role != "one_stop_clerk"), steps[0] if steps else None)
    if has_components and officer is not None:
        add("Hồ sơ giải quyết thủ tục hành chính (các thành phần hồ sơ đã tiếp nhận)", officer.role_label)
    for row in steps:
        for record in _split(row.record):
            key = _record_key(record, edition)
            if key in seen or _is_result(record, results):
                continue
            seen.add(key)
            add(record_name(record, edition), row.role_label)
    return rows


def _forms(legal: tuple[LegalForm, ...], components: tuple[Component, ...], edition: str) -> list[FormRow]:
    """Section 6: the procedure's own legal forms (or, where the table names none, the
    components filled in on a prescribed form, marked unknown), then the one-stop forms."""
    rows = [FormRow(f.code or "Chưa xác định", f.name, f.issued_by or "Chưa xác định", f.unconfirmed)
            for f in legal]
    if not legal:
        for c in components:
            if "theo mau" in fold(c.name):
                rows.append(FormRow("Chưa xác định", c.name, "Theo mẫu ban hành kèm văn bản quy định", True))
    circular = "Thông tư số " + edition
    rows += [FormRow(f"Mẫu số {spec.number}", spec.title, circular, not EDITIONS[edition].confirmed)
             for spec in one_stop_specs(edition)]
    return rows


def _mentions(text: str, number: str) -> bool:
    return fold(number) in fold(text)


def _legal_bases(legal_basis: str, edition: str) -> list[str]:
    """The model's legal bases without the one-stop documents section 3 cites from the edition
    (the decree in force is printed once, with its source) nor those that edition supersedes."""
    info = EDITIONS[edition]
    one_stop = [n for n in ("118/2025/NĐ-CP", edition) if _mentions(info.decree + info.circular, n)]
    return [b for b in _split(legal_basis)
            if not any(_mentions(b, n) for n in (*one_stop, *info.superseded))]


def _one_stop_references(edition: str) -> list[Reference]:
    info = EDITIONS[edition]
    unconfirmed = not info.confirmed
    return [Reference(info.decree, info.decree_sources, unconfirmed),
            Reference(info.circular, info.circular_sources, unconfirmed)]


def document_data(model: ProcedureModel, version_records: list[VersionRecord] | None = None, *,
                  unit_name: str | None = None, lang: str = "vi", edition: str = DEFAULT_EDITION) -> ProcedureDocument:
    meta = model.metadata
    records = sorted(version_records or [], key=lambda r: r.version_no)
    current = _current(model, records)
    draft = current is None or current.status == "draft" or current.approved_at is None
    amendments = [r for r in records if current is None or r.version_no <= current.version_no]

    if edition not in EDITIONS:
        raise InvalidInput(f"unknown form edition {edition!r}", f"không có bộ mẫu {edition!r}", code="unknown_edition",
                           hint=f"use one of: {', '.join(EDITIONS)}")
    props = _process_properties(model)
    steps: list[StepRow] = []
    for number, step in enumerate(model.steps_in_order(), start=1):
        documents: list[str] = []
        for record in _split(step.record):
            name = record_name(record, edition)
            if name and name not in documents:
                documents.append(name)
        steps.append(StepRow(
            number=number, bpmn_id=step.bpmn_id, name=step.name if lang == "vi" else (step.name_en or step.name),
            role=step.role, role_label=role_label(step.role, lang), duration=step.duration,
            duration_text=format_duration(step.duration, lang), paused=step.pauses_clock, form_id=step.form,
            form_title=_form_title(model, step.form), record=step.record, documents=tuple(documents),
        ))
    components = components_from_json(props.get(COMPONENTS_PROPERTY, ""))
    records_rows = _records(steps, props.get(RESULT_PROPERTY, ""), meta.field, edition, bool(components))
    forms = _forms(legal_forms_from_json(props.get(LEGAL_FORMS_PROPERTY, "")), components, edition)
    roles: list[tuple[str, str]] = []
    for row in steps:
        if all(row.role != r for r, _ in roles):
            roles.append((row.role, row.role_label))

    doc_lines = _documentation(model)
    notes = [line for line in doc_lines if not line.lower().startswith(("nguồn", "chưa kiểm chứng"))]
    sources = [line.split(":", 1)[1].strip() for line in doc_lines if line.lower().startswith("nguồn")]
    unverified = [line.split(":", 1)[1].strip() for line in doc_lines if line.lower().startswith("chưa kiểm chứng")]
    first_form = model.forms.get(steps[0].form_id) if steps and steps[0].form_id else None
    components_text = _components_text(model) or (first_form.get("description", "") if isinstance(first_form, dict) else "")

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
        fee=format_fee(meta.fee), legal_bases=_legal_bases(meta.legal_basis, edition), notes=notes, sources=sources,
        unverified=unverified, components=components_text, steps=steps,
        total_text=format_duration(model.longest_duration, lang), forms=forms, records=records_rows, roles=roles,
        references=_one_stop_references(edition), edition=edition,
        flowchart=flowchart_svg(model.source, title=f"Lưu đồ quy trình {meta.name}"),
    )


def procedure_document(model: ProcedureModel, version_records: list[VersionRecord] | None = None, lang: str = "vi",
                       *, unit_name: str | None = None, edition: str = DEFAULT_EDITION) -> str:
    """The procedure document as a self-contained HTML page (print it with `to_pdf`).

    Without version records the header says the document is a draft (dự thảo).
    """
    if lang != "vi":
        raise InvalidInput(f"procedure documents are printed in Vietnamese only (got lang={lang!r})",
                           f"tài liệu quy trình chỉ in bằng tiếng Việt (nhận được lang={lang!r})",
                           code="unsupported_language", hint="use lang='vi'")
    doc = document_data(model, version_records, unit_name=unit_name, lang=lang, edition=edition)
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
