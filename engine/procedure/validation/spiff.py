"""SpiffWorkflow's own judgement: the BPMN 2.0 XSD (with Spiff's extension schema) before
anything else, and its parser's errors after ours (every problem at once)."""
from __future__ import annotations

import threading

from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR

from ..problems import ModelProblem
from .context import ModelContext

_XSD_LOCK = threading.Lock()  # an lxml XMLSchema keeps one error log: one validation at a time


def xsd_problems(root: etree._Element) -> list[ModelProblem]:
    VALIDATOR.preprocess(root)
    schema = VALIDATOR.validator
    with _XSD_LOCK:
        if schema.validate(root):
            return []
        errors = [(error.message, error.line) for error in schema.error_log]
    ids_by_line: dict[int, str] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") and element.sourceline not in ids_by_line:
            ids_by_line[element.sourceline] = element.get("id")
    return [ModelProblem(
        code="bpmn_xsd_invalid",
        message_vi=f"Mô hình không đúng lược đồ BPMN 2.0: {message}",
        message_en=f"The model violates the BPMN 2.0 schema: {message}",
        hint="Re-export from the modeler, or fix the element at this line (misspelt tag, attribute or missing id).",
        hint_vi="Xuất lại từ công cụ vẽ, hoặc sửa phần tử ở dòng này (sai tên thẻ, thuộc tính hoặc thiếu id).",
        line=line or None, element_id=ids_by_line.get(line),
    ) for message, line in errors]


def report_spiff_error(ctx: ModelContext, exc: Exception, process: etree._Element) -> None:
    element_id = getattr(exc, "id", None) or None
    element = ctx.elements.get(element_id) if element_id else None
    if element is None and element_id:
        found = ctx.root.xpath("//*[@id=$i]", i=element_id)
        element = found[0] if found else None
    line = getattr(exc, "line_number", None) or (element.sourceline if element is not None else process.sourceline)
    detail = str(exc.args[0]) if exc.args else type(exc).__name__
    ctx.problems.append(ModelProblem(
        code="spiff_parse_error",
        message_vi=f"SpiffWorkflow không đọc được mô hình: {detail}",
        message_en=f"SpiffWorkflow cannot parse the model: {detail}",
        hint="Open the element in the modeler; a non-default flow out of a gateway needs a condition, "
             "and every reference must point to an existing element.",
        hint_vi="Mở phần tử này trong công cụ vẽ; một luồng ra khỏi cổng rẽ nhánh mà không phải luồng mặc định "
                "cần có điều kiện, và mọi tham chiếu phải trỏ tới một phần tử có thật.",
        element_id=element_id or process.get("id"), line=line,
    ))
