"""The flowchart of the ISO procedure document, drawn on the server from the model's BPMN
diagram: every library model gets one with its lanes, steps, gateways and flows; the PDF
made headless (`isoflow document MODEL --format pdf`) carries it."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cli.main import cli
from engine.adapters.documents import procedure_document
from engine.adapters.documents.flowchart import flowchart_svg, read_diagram, wrap
from engine.procedure import compile_model

REPO = Path(__file__).resolve().parent.parent
LIBRARY = sorted((REPO / "bpmn").glob("*.bpmn"))
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"
NO_DIAGRAM = REPO / "tests" / "fixtures" / "simple-procedure.bpmn"
SVG = "{http://www.w3.org/2000/svg}"


def compiled(path: Path):
    return compile_model(path.read_bytes(), path.name, forms_dir=path.parent / "forms")


def svg_text(svg: etree._Element) -> str:
    return " ".join(" ".join(t.itertext()) for t in svg.iter(f"{SVG}text"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_library_model_draws_its_lanes_steps_and_flows(path):
    model = compiled(path)
    svg = etree.fromstring(str(flowchart_svg(model.source, title=model.metadata.name)))
    drawn = {node.get("data-element-id") for node in svg.iter() if node.get("data-element-id")}
    assert set(model.steps) <= drawn
    flows = {node.get("data-element-id") for node in svg.iter(f"{SVG}path") if node.get("class") == "flow"}
    source_flows = set(re.findall(rb'<bpmn:sequenceFlow id="([^"]+)"', model.source))
    assert {f.decode() for f in source_flows} == flows
    lanes = [node for node in svg.iter(f"{SVG}rect") if node.get("class") == "lane"]
    assert len(lanes) == model.source.count(b"<bpmn:lane ")
    words = svg_text(svg)
    for step in model.steps.values():
        assert " ".join(step.name.split()) in " ".join(words.split()), step.name  # wrapped, never cut
    diagram = read_diagram(model.source)
    area = diagram.bounds()
    left, top, width, height = (float(v) for v in svg.get("viewBox").split())
    assert left <= area.x and top <= area.y and left + width >= area.x + area.width
    assert top + height >= area.y + area.height


def test_lane_names_are_roles_in_vietnamese():
    svg = str(flowchart_svg(BIRTH.read_bytes()))
    assert "Công chức Tư pháp" in svg and "justice_officer" not in svg.split("</defs>", 1)[1].replace(
        'data-element-id="lane_justice"', "")


def test_a_model_without_a_diagram_gets_a_note_instead():
    model = compiled(NO_DIAGRAM)
    assert flowchart_svg(model.source) is None
    page = procedure_document(model)
    assert "Lưu đồ quy trình" in page and "chưa có sơ đồ" in page and "<svg" not in page.split("5.7.")[1][:400]


def test_wrap_keeps_every_word():
    text = "Thẩm định hồ sơ, ghi Sổ hộ tịch, in Giấy khai sinh"
    lines = wrap(text, 90)
    assert len(lines) > 1 and " ".join(lines) == text


def test_the_pdf_made_on_the_command_line_carries_the_flowchart(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    output = tmp_path / "quy-trinh.pdf"
    result = CliRunner().invoke(cli, ["document", "model", str(BIRTH), "--format", "pdf", "--output", str(output)])
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(io.BytesIO(output.read_bytes()))
    pages = [page.extract_text() for page in reader.pages]
    [index] = [i for i, text in enumerate(pages) if "Lưu đồ quy trình" in text]
    page = reader.pages[index]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # a landscape page
    flat = " ".join(pages[index].split())
    for name in ("Ký Giấy khai sinh", "Hồ sơ đủ điều kiện?", "Công chức Tư pháp", "Chủ tịch UBND", "Cần bổ sung"):
        assert name in flat, name
