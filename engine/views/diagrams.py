"""What the web pages draw on a procedure's diagram besides the model itself: the steps
of a dossier (finished early / on time / late, the current step, a paused step) and a
stored version with its steps. The marks are plain data; the page turns them into
colours and labels in its language."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import Dossier, ProcedureVersion
from engine.domain.calendar import VN_TZ
from engine.procedure.diff import ModelDiff, diff_models
from engine.procedure.specs import ProcessMetadata, StepDefinition
from engine.runtime import reading
from engine.views import library as library_service
from engine.views.dossiers import TaskView, TimelineRow, dossier_view, timeline

RESULT_KINDS = ("early", "on_time", "late")


@dataclass(frozen=True)
class ElementMark:
    """One element of the diagram and what happened to it (`kind`), with an optional
    detail for its tooltip (e.g. the step's due instant)."""

    element_id: str
    kind: str  # early | on_time | late | current | overdue | paused
    task_id: int | None = None


def dossier_marks(sheet: list[TimelineRow], open_tasks: list[TaskView]) -> list[ElementMark]:
    """Marks of a dossier's steps: each finished step by its last result (a step done
    twice in a supplementation loop shows how it went the last time), then each open
    step as current (and overdue), or paused when it waits on the citizen."""
    last_result: dict[str, TimelineRow] = {}
    for row in sorted(sheet, key=lambda r: (r.completed_at is None, r.completed_at or r.handed_over_at)):
        if row.result in RESULT_KINDS:
            last_result[row.bpmn_id] = row
    open_ids = {t.bpmn_id for t in open_tasks}
    marks = [ElementMark(bpmn_id, row.result or "", row.task_id) for bpmn_id, row in last_result.items()
             if bpmn_id not in open_ids]
    for task in open_tasks:
        if task.clock == "paused" or task.urgency == "paused":
            marks.append(ElementMark(task.bpmn_id, "paused", task.id))
        else:
            marks.append(ElementMark(task.bpmn_id, "current", task.id))
            if task.urgency == "overdue":
                marks.append(ElementMark(task.bpmn_id, "overdue", task.id))
    return marks


@dataclass(frozen=True)
class DossierDiagram:
    version_id: int
    source: str
    marks: list[ElementMark]


def dossier_diagram(rt, actor: Actor, dossier_ref: int | str, *, view=None,
                    sheet: list[TimelineRow] | None = None) -> DossierDiagram:
    """The model a dossier runs on (its pinned version) with the dossier's marks.
    `view` and `sheet` may be passed when the page already read them (permission was
    checked there); otherwise they are read here, with the same checks."""
    view = view if view is not None else dossier_view(rt, actor, dossier_ref)
    sheet = sheet if sheet is not None else timeline(rt, actor, view.id)
    with reading(rt, actor) as unit:
        version_id, source = unit.session.execute(
            select(ProcedureVersion.id, ProcedureVersion.source)
            .join(Dossier, Dossier.procedure_version_id == ProcedureVersion.id)
            .where(Dossier.id == view.id)).one()
    return DossierDiagram(version_id, bytes(source).decode("utf-8", "replace"), dossier_marks(sheet, view.open_tasks))


@dataclass(frozen=True)
class VersionDetail:
    """A stored version as its page shows it: the record, the model's text, its metadata
    and steps in order, and its neighbours for comparing."""

    version: library_service.VersionSummary
    source: str
    forms: dict
    metadata: ProcessMetadata
    steps: list[StepDefinition]
    previous_version_id: int | None
    in_effect_version_id: int | None


def version_detail(rt, actor: Actor, version_id: int) -> VersionDetail:
    summary = library_service.get_version(rt, actor, version_id)  # permission: procedure.view
    with reading(rt, actor) as unit:
        s = unit.session
        version = s.get(ProcedureVersion, version_id)
        model = unit.runtime.model(version)
        siblings = s.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == version.procedure_id).order_by(ProcedureVersion.version_no)).all()
        previous = [v for v in siblings if v.version_no < version.version_no]
        today = unit.now.astimezone(VN_TZ).date()
        in_effect_no = library_service._in_effect(list(siblings), today)  # the library's one rule
        in_effect = next((v.id for v in siblings if v.version_no == in_effect_no), None)
        return VersionDetail(summary, bytes(version.source).decode("utf-8", "replace"), dict(version.forms or {}),
                             model.metadata, model.steps_in_order(), previous[-1].id if previous else None,
                             in_effect)


@dataclass(frozen=True)
class VersionComparison:
    """Two stored versions of a procedure (or of two procedures) and what changed between them."""

    before: VersionDetail
    after: VersionDetail
    diff: ModelDiff


def compare_versions(rt, actor: Actor, before_id: int, after_id: int) -> VersionComparison:
    before, after = version_detail(rt, actor, before_id), version_detail(rt, actor, after_id)
    with reading(rt, actor) as unit:
        model_before = unit.runtime.model(unit.session.get(ProcedureVersion, before_id))
        model_after = unit.runtime.model(unit.session.get(ProcedureVersion, after_id))
    return VersionComparison(before, after, diff_models(model_before, model_after))
