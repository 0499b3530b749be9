"""What the receive page needs once the clerk has chosen a procedure: the papers the
procedure asks for (the model's `components` property, a checklist) and the desk's
first step with its form, which the receipt fills so the clerk types everything once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, or_, select

from engine.adapters.db.models import OrgUnit, Procedure, ProcedureVersion
from engine.audit import Actor
from engine.domain.vocabulary import BPMN_NS, COMPONENTS, PROVENANCE
from engine.errors import NotFound
from engine.procedure.parser import read_properties
from engine.procedure.table_facts import COMPONENT_KINDS, components_from_json, evidence_from_json, is_unconfirmed
from engine.procedure.xmlsafe import load_xml
from engine.views.reading import principal_of, reading, today, visible_dossier


@dataclass(frozen=True)
class ComponentItem:
    name: str
    kind: str
    kind_vi: str
    kind_en: str
    count: int
    note: str = ""


@dataclass(frozen=True)
class ReceiptForm:
    procedure_code: str
    procedure_name: str
    version_no: int
    components: list[ComponentItem]
    components_unconfirmed: str  # why the list is unconfirmed, when it is
    step_name: str | None  # the desk's first step, which the receipt completes
    step_schema: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def receipt_form(rt, actor: Actor, *, unit_code: str, procedure_code: str) -> ReceiptForm:
    """The checklist and first step of the version a dossier received today in `unit_code`
    would run on (a commune's local version before the province's on the same date)."""
    with reading(rt, actor) as unit:
        session = unit.session
        org_unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        procedure = session.scalar(select(Procedure).where(Procedure.code == procedure_code))
        version = None
        if procedure is not None:
            version = session.scalar(
                select(ProcedureVersion)
                .where(ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.status == "approved",
                       ProcedureVersion.effective_from.is_not(None), ProcedureVersion.effective_from <= today(unit),
                       or_(ProcedureVersion.scope_org_unit_id.is_(None),
                           ProcedureVersion.scope_org_unit_id == org_unit_id))
                .order_by(ProcedureVersion.effective_from.desc(),
                          case((ProcedureVersion.scope_org_unit_id.is_(None), 1), else_=0),
                          ProcedureVersion.version_no.desc())
                .limit(1))
        if version is None:
            raise NotFound(f"procedure {procedure_code} has no version in effect today",
                           f"thủ tục {procedure_code} không có phiên bản có hiệu lực hôm nay", code="not_found")
        model = unit.runtime.model_of_version(unit.connection, version.id)
        properties = _process_properties(model)
        components = [ComponentItem(c.name, c.kind, COMPONENT_KINDS[c.kind][0], COMPONENT_KINDS[c.kind][1], c.count,
                                    c.note) for c in components_from_json(properties.get(COMPONENTS, ""))]
        evidence = evidence_from_json(properties.get(PROVENANCE, "")).get("components", "")
        steps = model.steps_in_order()
        first = steps[0] if steps and steps[0].role == "one_stop_clerk" else None
        schema = model.forms.get(first.form) if first is not None and first.form else None
        return ReceiptForm(procedure.code, procedure.name, version.version_no, components,
                           evidence if evidence and is_unconfirmed(evidence) else "",
                           first.name if first is not None else None, schema)


def _process_properties(model) -> dict[str, str]:
    loaded = load_xml(model.source)
    if loaded.root is None:
        return {}
    process = loaded.root.find(f"{{{BPMN_NS}}}process[@id='{model.metadata.process_id}']")
    return read_properties(process) if process is not None else {}


def may_reissue_pin(rt, actor: Actor, dossier_ref: int | str) -> bool:
    """Whether the user may give this dossier's citizen a new PIN (`Dossier.reissue_pin`):
    a desk clerk of its commune, until the result is handed back."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        principal = principal_of(unit)
        return dossier.returned_at is None and (principal is None or principal.can("dossier.reissue_pin",
                                                                                     dossier.org_unit_id))
