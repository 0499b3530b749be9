"""Hardened XML loading for untrusted models: size and element limits, no DTD, no
entities, no network. Every refusal is a Problem with a line when there is one."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .problems import ModelProblem

MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_ELEMENTS = 20_000
# A DOCTYPE can only stand in the prolog: after the XML declaration, comments and PIs.
_DOCTYPE_IN_PROLOG = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!DOCTYPE", re.S)


@dataclass
class LoadedXml:
    root: etree._Element | None
    problems: list[ModelProblem]


def _parser() -> etree.XMLParser:
    # resolve_entities/load_dtd/no_network: nothing outside the bytes is ever read and no
    # entity is expanded; huge_tree=False keeps libxml2's depth and size safety limits.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,
    )


def load_xml(source: bytes, *, max_bytes: int = MAX_SOURCE_BYTES, max_elements: int = MAX_ELEMENTS) -> LoadedXml:
    if len(source) > max_bytes:
        return LoadedXml(None, [ModelProblem(
            code="file_too_large",
            message_vi=f"Tệp quá lớn: {len(source)} byte, tối đa {max_bytes} byte.",
            message_en=f"The file is too large: {len(source)} bytes, the maximum is {max_bytes}.",
            hint="A procedure model is a few hundred KB at most; remove embedded images or split the process.",
            hint_vi="Một mô hình quy trình chỉ vài trăm KB; bỏ hình ảnh nhúng hoặc chia nhỏ quy trình.",
        )])
    if not source.strip():
        return LoadedXml(None, [_not_xml("the file is empty", None)])
    prolog_doctype = _DOCTYPE_IN_PROLOG.match(source)
    if prolog_doctype:
        return LoadedXml(None, [_doctype(source.count(b"\n", 0, prolog_doctype.end()) + 1)])
    try:
        root = etree.fromstring(source, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        return LoadedXml(None, [_not_xml(exc.msg or str(exc), line)])
    except (ValueError, MemoryError, RecursionError) as exc:
        return LoadedXml(None, [_not_xml(str(exc), None)])
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return LoadedXml(None, [_doctype(1)])
    count = 0
    for element in root.iter():
        if isinstance(element, etree._Entity):
            return LoadedXml(None, [ModelProblem(
                code="xml_doctype_forbidden",
                message_vi="Tệp dùng tham chiếu thực thể (entity) không được phép.",
                message_en="The file uses an entity reference, which models may not contain.",
                hint="Write the text itself instead of &name; references.",
                hint_vi="Viết thẳng nội dung thay cho các tham chiếu &tên;.",
                line=element.sourceline,
            )])
        count += 1
        if count > max_elements:
            return LoadedXml(None, [ModelProblem(
                code="too_many_elements",
                message_vi=f"Tệp có hơn {max_elements} phần tử XML.",
                message_en=f"The file has more than {max_elements} XML elements.",
                hint="A procedure has tens of steps; split a huge model into several procedures.",
                hint_vi="Một thủ tục chỉ có vài chục bước; hãy chia mô hình quá lớn thành nhiều thủ tục.",
                line=element.sourceline,
            )])
    return LoadedXml(root, [])


def _doctype(line: int) -> ModelProblem:
    return ModelProblem(
        code="xml_doctype_forbidden",
        message_vi="Tệp có khai báo DOCTYPE/thực thể (entity); mô hình không được phép chứa chúng.",
        message_en="The file has a DOCTYPE or entity declarations, which models may not contain.",
        hint="Remove the <!DOCTYPE ...> block; BPMN modelers never write one.",
        hint_vi="Xóa khối <!DOCTYPE ...>; công cụ vẽ BPMN không bao giờ ghi khối này.",
        line=line,
    )


def _not_xml(detail: str, line: int | None) -> ModelProblem:
    return ModelProblem(
        code="xml_not_well_formed",
        message_vi=f"Tệp không phải XML hợp lệ: {detail}",
        message_en=f"The file is not well-formed XML: {detail}",
        hint="Export the model again from the modeler (File > Save/Export as BPMN XML).",
        hint_vi="Xuất lại mô hình từ công cụ vẽ (File > Save/Export as BPMN XML).",
        line=line,
    )
