"""The ISO procedure document fits to issue to a commune (issue 16): legal form codes in
section 6, records kept once with their retention rule, results handed out not listed as
kept, the one-stop decree and circular in force in section 3, and no secondary-channel
provenance (a public GitHub table) in a model or a document."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree, html as lxml_html

from engine.adapters.documents import document_data, procedure_document
from engine.adapters.documents.dossier_forms import DEFAULT_EDITION, EDITIONS
from engine.adapters.documents.procedure import one_stop_kind, record_name
from engine.domain.textmatch import fold
from engine.domain.vocabulary import BPMN_NS
from engine.errors import InvalidInput
from engine.procedure import compile_model
from engine.procedure.parser import read_properties
from engine.procedure.table_import import bpmn_to_table, table_to_bpmn
from engine.procedure.table_model import parse_yaml_table

ROOT = Path(__file__).parent.parent / "bpmn"
FORMS = ROOT / "forms"
MODELS = sorted(ROOT.glob("*.bpmn"))
SECONDARY = re.compile(r"github|hongdienvbhp", re.IGNORECASE)


def _model(name: str):
    path = ROOT / name
    return compile_model(path.read_bytes(), path.name, forms_dir=FORMS)


def _section(page: str, number: str) -> lxml_html.HtmlElement:
    """The first table after the heading `<number>. ...`."""
    tree = lxml_html.fromstring(page)
    heading = next(h for h in tree.xpath("//h2") if h.text_content().startswith(number + "."))
    return heading.xpath("following-sibling::table[1]")[0]


def _rows(table) -> list[list[str]]:
    return [[" ".join(td.text_content().split()) for td in tr.xpath("td")] for tr in table.xpath(".//tr")[1:]]


@pytest.fixture(scope="module")
def documents():
    out = {}
    for path in MODELS:
        model = compile_model(path.read_bytes(), path.name, forms_dir=FORMS)
        out[path.name] = (model, document_data(model), procedure_document(model))
    return out


def test_one_stop_forms_default_to_the_circular_guiding_decree_118():
    assert DEFAULT_EDITION == "03/2025/TT-VPCP"
    edition = EDITIONS[DEFAULT_EDITION]
    assert edition.confirmed and edition.decree_sources and edition.circular_sources
    assert all("thong-tu-03-2025" not in url for url in edition.decree_sources)
    assert all("thong-tu-03-2025" in url or "thuviennhadat" in url for url in edition.circular_sources)
    assert "118/2025/NĐ-CP ngày 09/6/2025" in edition.decree
    assert "03/2025/TT-VPCP ngày 15/9/2025" in edition.circular


def test_section_6_prints_legal_form_codes_never_a_software_form_id(documents):
    for name, (model, doc, page) in documents.items():
        rows = _rows(_section(page, "6"))
        codes = [r[1] for r in rows]
        assert [c for c in codes if c.startswith("Mẫu số")] == [f"Mẫu số {n:02d}" for n in range(1, 8)], name
        assert ["Sổ theo dõi hồ sơ", "Thông tư số 03/2025/TT-VPCP"] == rows[codes.index("Mẫu số 07")][2:], name
        text = " ".join(lxml_html.fromstring(page).text_content().split())
        for form_id in {step.form for step in model.steps_in_order() if step.form}:
            assert not re.search(rf"\b{re.escape(form_id)}\b", text), (name, form_id)


def test_a_procedures_own_legal_form_is_printed_with_its_issuing_document_and_mark(documents):
    _, doc, page = documents["1.001193-birth-registration.bpmn"]
    own = _rows(_section(page, "6"))[0]
    assert own[1:3] == ["Chưa xác định", "Tờ khai đăng ký khai sinh"]
    assert own[3] == "Thông tư 04/2020/TT-BTP của Bộ Tư pháp (chưa kiểm chứng)"
    # a component on a prescribed form the table gives no legal form for: said so, not invented
    _, doc, page = documents["1.000656-death-registration.bpmn"]
    own = _rows(_section(page, "6"))[0]
    assert own[1:] == ["Chưa xác định", "Tờ khai đăng ký khai tử theo mẫu",
                       "Theo mẫu ban hành kèm văn bản quy định (chưa kiểm chứng)"]


def test_steps_name_one_stop_records_by_the_editions_number():
    assert record_name("Sổ theo dõi hồ sơ (mẫu 06)") == "Sổ theo dõi hồ sơ (Mẫu số 07)"
    assert record_name("Phiếu kiểm soát quá trình giải quyết hồ sơ (mẫu 05)") == \
        "Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu số 06)"
    assert record_name("Phiếu tiếp nhận và hẹn trả kết quả (mẫu 01)", "01/2018/TT-VPCP") == \
        "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01)"
    assert record_name("Biên bản xác minh") == "Biên bản xác minh"
    assert one_stop_kind("Sổ theo dõi hồ sơ (mẫu 06) có chữ ký người nhận") == "register"
    assert one_stop_kind("Giấy khai sinh") is None


def test_section_7_lists_each_record_once_without_results_handed_out(documents):
    for name, (model, doc, page) in documents.items():
        keys = [one_stop_kind(r.name) or fold(re.sub(r"\([^)]*\)", " ", r.name)) for r in doc.records]
        assert len(keys) == len(set(keys)), (name, keys)
        results = [fold(re.sub(r"\([^)]*\)", " ", r)) for r in bpmn_to_table(model.source).meta.result.split(";")]
        for record in doc.records:
            key = fold(re.sub(r"\([^)]*\)", " ", record.name))
            if not key.startswith("so "):
                assert not any(r and (r in key or key in r) for r in results), (name, record.name)
        assert len(_rows(_section(page, "7"))) == len(doc.records)
    # the hand-written model spells the register two ways and hands out the birth certificate
    _, doc, _ = documents["1.001193-birth-registration.bpmn"]
    names = [r.name for r in doc.records]
    assert names.count("Sổ theo dõi hồ sơ (Mẫu số 07)") == 1
    assert not any("Giấy khai sinh" in n for n in names)


def test_retention_periods_carry_their_rule_or_say_unconfirmed(documents):
    _, doc, page = documents["1.000656-death-registration.bpmn"]
    register = next(r for r in doc.records if r.name == "Sổ đăng ký khai tử")
    assert register.retention == "Vĩnh viễn" and register.confirmed
    assert "123/2015/NĐ-CP, Điều 12 khoản 3" in register.basis and register.source.startswith("https://")
    rows = {r[1]: r[3] for r in _rows(_section(page, "7"))}
    assert rows["Sổ đăng ký khai tử"].startswith("Vĩnh viễn (Nghị định số 123/2015/NĐ-CP, Điều 12 khoản 3")
    assert rows["Sổ theo dõi hồ sơ (Mẫu số 07)"] == "Theo Danh mục hồ sơ của UBND xã (chưa kiểm chứng)"
    assert "Trích lục khai tử" not in rows  # handed to the citizen


def test_section_3_cites_the_one_stop_decree_and_circular_in_force_with_sources(documents):
    for name, (_, doc, page) in documents.items():
        tree = lxml_html.fromstring(page)
        heading = next(h for h in tree.xpath("//h2") if h.text_content().startswith("3."))
        items = [" ".join(li.text_content().split()) for li in heading.xpath("following-sibling::ul[1]/li")]
        assert sum("118/2025/NĐ-CP ngày 09/6/2025" in i and "Nguồn: https://" in i for i in items) == 1, name
        assert sum("03/2025/TT-VPCP ngày 15/9/2025" in i and "Nguồn: https://" in i for i in items) == 1, name
        assert not any(re.search(r"61/2018|107/2021|01/2018/TT-VPCP", i) for i in items), name


USER_TABLE = """
procedure:
  code: '1.999001'
  name: Thủ tục thử
  field: civil_status
  time_limit: P1D
  legal_basis: Luật Hộ tịch 2014; Nghị định 61/2018/NĐ-CP; Thông tư 01/2018/TT-VPCP; Nghị định 118/2025/NĐ-CP
  fee: Không
  result: Giấy chứng nhận thử
  components:
  - name: Tờ khai theo mẫu
  legal_forms:
  - code: Mẫu số 09
    name: Tờ khai thử
    issued_by: Thông tư 99/2025/TT-BTP
    evidence: Thông tư 99/2025/TT-BTP <https://example.gov.vn/tt-99>
  evidence:
    code:
      text: Quyết định 1/QĐ-UBND <https://example.gov.vn/qd-1>
      via: bảng đối chiếu công khai trên GitHub
  sources:
  - title: Quyết định 1/QĐ-UBND
    url: https://example.gov.vn/qd-1
    note: mã, tên
    via: bảng đối chiếu công khai trên GitHub
  - title: Một dự án công khai trên GitHub
    secondary: true
  unverified:
  - note: mã thủ tục chưa đối chiếu trực tiếp trên Cổng Dịch vụ công quốc gia
    via: một bộ câu hỏi kiểm thử công khai trên GitHub
steps:
- id: receive
  name: Tiếp nhận hồ sơ
  role: one_stop_clerk
  duration: PT1H
  form: common_receive
  record: Giấy tiếp nhận hồ sơ và hẹn trả kết quả (mẫu 01); Sổ theo dõi hồ sơ (mẫu 06)
- id: sign
  name: Ký Giấy chứng nhận thử
  role: chair
  duration: PT1H
  form: common_sign
  record: Giấy chứng nhận thử; Sổ theo dõi hồ sơ
  outcomes:
    approve: next
    refuse: return_refusal
- id: return_result
  name: Trả kết quả
  role: one_stop_clerk
  duration: PT1H
  form: common_return
  status: 9
  record: Sổ theo dõi hồ sơ (mẫu 07)
  end: true
- id: return_refusal
  name: Trả văn bản từ chối
  role: one_stop_clerk
  duration: PT1H
  form: common_return_refusal
  status: 9
  end: true
"""


def _user_model():
    xml = table_to_bpmn(parse_yaml_table(USER_TABLE))
    return xml, compile_model(xml, "user.bpmn", forms_dir=FORMS)


def test_a_table_keeps_how_its_sources_were_reached_out_of_the_model_and_the_document():
    xml, model = _user_model()
    root = etree.fromstring(xml)
    process = root.find(f"{{{BPMN_NS}}}process")
    documentation = process.findtext(f"{{{BPMN_NS}}}documentation") or ""
    assert "Quyết định 1/QĐ-UBND - https://example.gov.vn/qd-1 - mã, tên" in documentation
    assert "mã thủ tục chưa đối chiếu trực tiếp trên Cổng Dịch vụ công quốc gia" in documentation
    assert not SECONDARY.search(xml.decode())
    assert json.loads(read_properties(process)["provenance"])["code"] == "Quyết định 1/QĐ-UBND <https://example.gov.vn/qd-1>"
    assert not SECONDARY.search(procedure_document(model))
    table = parse_yaml_table(USER_TABLE)
    assert table.meta.sources[0].via and table.meta.sources[1].secondary  # the table keeps the full provenance
    assert table.meta.evidence_via == {"code": "bảng đối chiếu công khai trên GitHub"}
    assert bpmn_to_table(xml).meta.legal_forms == table.meta.legal_forms


def test_a_user_model_prints_its_legal_form_and_drops_superseded_one_stop_bases():
    _, model = _user_model()
    doc = document_data(model)
    assert [(f.code, f.name, f.issued_by, f.unconfirmed) for f in doc.forms[:1]] == \
        [("Mẫu số 09", "Tờ khai thử", "Thông tư 99/2025/TT-BTP", False)]
    assert doc.legal_bases == ["Luật Hộ tịch 2014"]  # 118/2025 is printed once, from the edition
    assert [r.name for r in doc.records] == [
        "Hồ sơ giải quyết thủ tục hành chính (các thành phần hồ sơ đã tiếp nhận)",
        "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01)", "Sổ theo dõi hồ sơ (Mẫu số 07)"]
    # a commune still on the 2018 forms: those are its basis, printed and marked unconfirmed
    old = document_data(model, edition="01/2018/TT-VPCP")
    assert old.legal_bases == ["Luật Hộ tịch 2014", "Nghị định 61/2018/NĐ-CP", "Nghị định 118/2025/NĐ-CP"]
    assert "61/2018/NĐ-CP" in old.references[0].text and old.references[0].unconfirmed
    assert ("Mẫu số 06", "Sổ theo dõi hồ sơ") in [(f.code, f.name) for f in old.forms]
    assert "Sổ theo dõi hồ sơ (Mẫu số 06)" in [r.name for r in old.records]
    page = procedure_document(model, edition="01/2018/TT-VPCP")
    assert "(chưa kiểm chứng)" in _rows(_section(page, "6"))[-1][3]
    with pytest.raises(InvalidInput):
        document_data(model, edition="99/2099/TT-VPCP")


def test_a_legal_form_needs_a_name_and_a_source_or_unconfirmed_mark():
    bad = USER_TABLE.replace("    evidence: Thông tư 99/2025/TT-BTP <https://example.gov.vn/tt-99>\n", "")
    with pytest.raises(InvalidInput) as caught:
        parse_yaml_table(bad)
    assert [p.field for p in caught.value.problems] == ["legal_forms"]
    assert "nguồn" in caught.value.problems[0].message_vi


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_no_model_names_a_secondary_channel(model):
    """What a commune's document is made of names primary sources only (the province's
    decision or page, the legal document); the tables keep how they were reached."""
    root = etree.parse(str(model)).getroot()
    process = root.find(f"{{{BPMN_NS}}}process")
    documentation = process.findtext(f"{{{BPMN_NS}}}documentation") or ""
    assert not SECONDARY.search(documentation)
    assert not SECONDARY.search(json.dumps(read_properties(process), ensure_ascii=False))


def test_no_document_names_a_secondary_channel(documents):
    for name, (_, _, page) in documents.items():
        assert not SECONDARY.search(page), name
