"""The procedure library in bpmn/: every model is generated from its table, parses with
SpiffWorkflow's XSD check, and runs its happy path and one alternative path."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser, VALIDATOR

from engine.adapters.documents import document_data
from engine.domain.fields import FIELDS
from engine.domain.vocabulary import BPMN_NS
from engine.procedure import compile_model
from engine.procedure.table_facts import FACT_LABELS, FACTS, is_unconfirmed
from engine.procedure import validate_file
from engine.domain.vocabulary import limit_budget, parse_working_duration
from engine.procedure.table_import import bpmn_to_table, check_forms, output_name, table_to_bpmn
from engine.procedure.table_model import read_table

ROOT = Path(__file__).parent.parent / "bpmn"
FORMS = ROOT / "forms"
TABLES = sorted((ROOT / "tables").glob("*.yaml"))
GENERATED = [ROOT / output_name(t) for t in TABLES]
MODELS = sorted(ROOT.glob("*.bpmn"))  # the generated ones and the hand-written reference model


def test_library_covers_a_communes_catalogue_in_fifteen_fields():
    tables = [read_table(t) for t in TABLES]
    codes = {t.meta.code for t in tables}
    assert len(codes) == len(tables)
    assert "1.001193" not in codes  # the hand-written reference model
    assert len(codes | {"1.001193"}) >= 100
    assert len({t.meta.field for t in tables}) >= 15
    for t in tables:
        assert t.meta.field in FIELDS
        assert t.meta.sources, f"{t.meta.code} names no source"


# a cited fact names a document (number/year, decision number) or a page address
_CITATION = re.compile(r"\d+/\d{4}/|\d+/QĐ-|https?://")


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_model_has_basis_components_and_provenance_per_fact(model):
    xml = model.read_bytes()
    meta = bpmn_to_table(xml).meta
    assert meta.legal_basis and meta.result
    assert meta.components and all(c.name and c.count >= 1 for c in meta.components)
    documentation = etree.fromstring(xml).findtext(f"{{{BPMN_NS}}}process/{{{BPMN_NS}}}documentation") or ""
    for fact in FACTS:
        evidence = meta.evidence.get(fact, "")
        assert evidence, f"{model.name}: no source and no unconfirmed mark for {fact}"
        if is_unconfirmed(evidence):  # shown as unconfirmed wherever the model's open questions are shown
            assert f"[dữ kiện] {FACT_LABELS[fact][0]}:" in documentation, (model.name, fact)
        else:
            assert _CITATION.search(evidence), f"{model.name}: {fact} cites no document or page: {evidence}"
    if meta.conditional_limits:
        assert "conditional_limits" in meta.evidence


def test_iso_document_prints_the_components_instead_of_the_placeholder():
    path = ROOT / "1.001612-household-business-registration.bpmn"
    model = compile_model(path.read_bytes(), path.name, forms_dir=FORMS)
    doc = document_data(model)
    assert doc.components.startswith("1. Giấy đề nghị đăng ký hộ kinh doanh theo mẫu (bản chính, 01 bản)")
    assert "Chưa kiểm chứng" in doc.components  # the components' source is not confirmed
    assert any("[dữ kiện] thành phần hồ sơ" in line for line in doc.unverified)


@pytest.mark.parametrize("table_path", TABLES, ids=lambda p: p.stem)
def test_model_is_the_generated_form_of_its_table(table_path):
    model = ROOT / output_name(table_path)
    assert model.is_file(), f"run: isoflow import-table {table_path} --output-dir bpmn"
    assert model.read_bytes() == table_to_bpmn(read_table(table_path))
    assert table_path.stem.startswith(read_table(table_path).meta.code + "-")


@pytest.mark.parametrize("table_path", TABLES, ids=lambda p: p.stem)
def test_forms_exist_and_match_the_decisions(table_path):
    assert check_forms(read_table(table_path), FORMS) == []


@pytest.mark.parametrize("table_path", TABLES, ids=lambda p: p.stem)
def test_round_trip_of_library_table(table_path):
    table = read_table(table_path)
    back = bpmn_to_table((ROOT / output_name(table_path)).read_bytes())
    keys = ("id", "name", "role", "duration", "form", "clock", "status", "record", "outcomes", "then", "end")
    assert [{k: getattr(s, k) for k in keys} for s in back.steps] == [{k: getattr(s, k) for k in keys} for s in table.steps]


@pytest.mark.parametrize("form_path", sorted(FORMS.glob("*.json")), ids=lambda p: p.stem)
def test_forms_are_json_schema_2020_12_with_vietnamese_titles(form_path):
    schema = json.loads(form_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    for name, prop in schema["properties"].items():
        assert prop.get("title"), f"{form_path.name}: property {name} has no title"
    if "outcome" in schema["properties"]:
        assert "outcome" in schema["required"]


def _workflow(model: Path) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(model))
    (pid,) = parser.get_process_ids()
    return BpmnWorkflow(parser.get_spec(pid), parser.get_subprocess_specs(pid))


def _run(model: Path, choose) -> list[tuple[str, str | None]]:
    """Complete READY user tasks one at a time; `choose(task, offered)` picks the outcome for
    steps whose form asks for one. Returns the path as (task, outcome) pairs."""
    wf = _workflow(model)
    wf.do_engine_steps()
    path: list[tuple[str, str | None]] = []
    for _ in range(200):
        if wf.is_completed():
            return path
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == 1, [t.task_spec.name for t in ready]
        task = ready[0]
        props = task.task_spec.extensions["properties"]
        schema = json.loads((FORMS / f"{props['form']}.json").read_text(encoding="utf-8"))
        offered = [o["const"] for o in schema["properties"].get("outcome", {}).get("oneOf", [])]
        outcome = choose(task, offered) if offered else None
        if outcome:
            task.data["outcome"] = outcome
        path.append((task.task_spec.name, outcome))
        task.run()
        wf.do_engine_steps()
    raise AssertionError(f"{model.name} did not finish in 200 steps: {path}")


def _status(model: Path, task_name: str) -> str:
    wf = _workflow(model)
    return wf.spec.task_specs[task_name].extensions["properties"]["status"]


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_model_passes_the_validator(model):
    report = validate_file(model)
    assert report.ok, [(p.code, p.element_id, p.message_en) for p in report.problems]


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_happy_path_approves_everything_and_returns_the_result(model):
    path = _run(model, lambda task, offered: "approve")
    last = path[-1][0]
    assert _status(model, last) == "9"  # the desk's return-result step
    assert all(outcome in (None, "approve") for _, outcome in path)


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_alternative_path_supplement_once_or_refuse(model):
    asked = []

    def choose(task, offered):
        if "supplement" in offered and not asked:  # ask the citizen once, at the first chance
            asked.append(task.task_spec.name)
            return "supplement"
        return "approve"

    path = _run(model, choose)
    names = [name for name, _ in path]
    supplemented = [name for name, outcome in path if outcome == "supplement"]
    wf = _workflow(model)
    if supplemented:
        paused = [n for n in names if wf.spec.task_specs[n].extensions["properties"].get("clock") == "paused"]
        assert paused, "a supplement request must lead to a paused citizen step"
        assert names.count(supplemented[0]) == 2  # back to the step that asked
    else:  # no supplementation in this procedure: refuse at the first decision instead
        refused = _run(model, lambda task, offered: "refuse" if "refuse" in offered else "approve")
        assert any(outcome == "refuse" for _, outcome in refused)
        assert _status(model, refused[-1][0]) == "9"
    assert _status(model, names[-1]) == "9"


@pytest.mark.parametrize("model", GENERATED, ids=lambda p: p.stem)
def test_generated_diagram_edges_do_not_cross_other_nodes(model):
    from lxml import etree

    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
          "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
    root = etree.parse(str(model)).getroot()
    process = root.find("bpmn:process", ns)
    node_ids = {el.get("id") for el in process if etree.QName(el).localname in
                ("userTask", "exclusiveGateway", "startEvent", "endEvent")}
    boxes = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", ns):
        if shape.get("bpmnElement") in node_ids:
            b = shape.find("dc:Bounds", ns)
            boxes[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", ns)}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", ns):
        flow = flows[edge.get("bpmnElement")]
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", ns)]
        for node, (x, y, w, h) in boxes.items():
            if node in (flow.get("sourceRef"), flow.get("targetRef")):
                continue
            for (x1, y1), (x2, y2) in zip(points, points[1:]):
                if y1 == y2:  # horizontal
                    crosses = y < y1 < y + h and min(x1, x2) < x + w and max(x1, x2) > x
                else:  # vertical
                    crosses = x < x1 < x + w and min(y1, y2) < y + h and max(y1, y2) > y
                assert not crosses, (flow.get("id"), node)


def _longest_running_trail(table) -> timedelta:
    """Longest path of running steps when every step may run twice, so each supplementation
    or revision loop goes round once more: stricter than the validator's rule on purpose."""
    best = timedelta(0)

    def walk(step, visits: dict, total: timedelta) -> None:
        nonlocal best
        if step.clock == "running":
            total += parse_working_duration(step.duration)
        best = max(best, total)
        for target in table.successors(step):
            if visits.get(target, 0) < 2:
                walk(table.step(target), {**visits, target: visits.get(target, 0) + 1}, total)

    walk(table.steps[0], {table.steps[0].id: 1}, timedelta(0))
    return best


@pytest.mark.parametrize("table_path", TABLES, ids=lambda p: p.stem)
def test_running_steps_fit_the_limit_even_when_a_loop_runs_again(table_path):
    table = read_table(table_path)
    budgets = [limit_budget(table.meta.time_limit, table.meta.time_basis)]
    budgets += [limit_budget(limit, table.meta.time_basis) for limit in table.meta.category_limits.values()]
    assert _longest_running_trail(table) <= min(budgets)


def test_every_library_procedure_is_listed_with_its_sources_in_the_docs():
    text = (ROOT.parent / "docs" / "library-sources.md").read_text(encoding="utf-8")
    for table_path in TABLES:
        meta = read_table(table_path).meta
        assert f"## {meta.code} " in text
        for source in meta.sources:
            assert source.title in text
