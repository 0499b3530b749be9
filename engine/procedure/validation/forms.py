"""Forms and outcomes: each form a step names exists and is a valid JSON Schema; a gateway
that tests `outcome` is preceded by steps whose forms offer exactly those choices, and
every offered choice is routed on purpose."""
from __future__ import annotations

import ast
from collections import deque
from typing import Iterator

from lxml import etree

from engine.domain import vocabulary as v

from ..expressions import CompiledExpression, UnsafeExpression, compile_expression
from ..forms import FORM_ID_PATTERN, FormError, check_form, load_form_file, outcome_values
from ..parser import read_properties
from .context import BPMN, GATEWAYS, HUMAN_TASKS, ModelContext


def load_forms(ctx: ModelContext) -> None:
    wanted: dict[str, list[str]] = {}
    for node_id, kind in ctx.kind.items():
        if kind in HUMAN_TASKS:
            form = read_properties(ctx.elements[node_id]).get(v.FORM)
            if form and FORM_ID_PATTERN.match(form):
                wanted.setdefault(form, []).append(node_id)
    ctx.forms = {}
    for form_id, users in wanted.items():
        element = ctx.elements[users[0]]
        try:
            if ctx.forms_given is not None and form_id in ctx.forms_given:
                schema = ctx.forms_given[form_id]
            elif ctx.forms_dir is not None and ctx.forms_given is None:
                schema = load_form_file(ctx.forms_dir, form_id)
            else:
                raise FileNotFoundError(form_id)
            check_form(schema)
            ctx.forms[form_id] = schema
        except FileNotFoundError:
            ctx.bad_forms.add(form_id)
            where = f" in {ctx.forms_dir}" if ctx.forms_dir is not None and ctx.forms_given is None else ""
            where_vi = f" trong {ctx.forms_dir}" if where else ""
            ctx.add("form_missing", f"Không tìm thấy biểu mẫu {form_id!r}{where_vi}.",
                    f"The form {form_id!r} was not found{where}.",
                    f"Add forms/{form_id}.json (JSON Schema 2020-12) next to the model.",
                    f"Thêm tệp forms/{form_id}.json (JSON Schema 2020-12) cạnh mô hình.", element)
        except FormError as exc:
            ctx.bad_forms.add(form_id)
            ctx.add("form_invalid", f"Biểu mẫu {form_id!r} không hợp lệ: {exc}.",
                    f"The form {form_id!r} is invalid: {exc}.",
                    "A form is a JSON Schema (draft 2020-12) with \"type\": \"object\".",
                    "Biểu mẫu là một JSON Schema (bản 2020-12) có \"type\": \"object\".", element)


def preceding_steps(ctx: ModelContext, gateway_id: str) -> set[str]:
    """The human steps whose data reach the gateway through gateways and events only."""
    scope = ctx.scope_of[gateway_id]
    predecessors: dict[str, list[str]] = {}
    for n, succ in scope.successors.items():
        for m in succ:
            predecessors.setdefault(m, []).append(n)
    found: set[str] = set()
    seen = {gateway_id}
    queue = deque([gateway_id])
    while queue:
        for prev in predecessors.get(queue.popleft(), []):
            if prev in seen:
                continue
            seen.add(prev)
            if ctx.kind[prev] in HUMAN_TASKS:
                found.add(prev)
            elif ctx.kind[prev] in GATEWAYS or ctx.kind[prev] in ("intermediateCatchEvent", "intermediateThrowEvent"):
                queue.append(prev)
    return found


def gateway_conditions(ctx: ModelContext) -> Iterator[tuple[etree._Element, str, CompiledExpression]]:
    """(flow, gateway id, compiled condition) for every conditional flow out of a gateway
    whose condition compiles (the others are reported by the expression checks)."""
    for flow in ctx.root.iter(f"{BPMN}sequenceFlow"):
        condition = flow.find(f"{BPMN}conditionExpression")
        source = flow.get("sourceRef") or ""
        if condition is None or ctx.kind.get(source) not in GATEWAYS:
            continue
        try:
            yield flow, source, compile_expression(condition.text or "")
        except UnsafeExpression:
            continue


def check_outcomes(ctx: ModelContext) -> None:
    for flow, source, compiled in gateway_conditions(ctx):
        values = outcome_constants(compiled.tree)
        if not values:
            continue
        for step_id in sorted(preceding_steps(ctx, source)):
            step_el = ctx.elements[step_id]
            step_name = step_el.get("name") or step_id
            form_id = read_properties(step_el).get(v.FORM)
            if form_id in ctx.bad_forms:
                continue
            allowed = outcome_values(ctx.forms[form_id]) if form_id in ctx.forms else None
            if allowed is None:
                example = '"oneOf": [{"const": "approve", "title": "Đồng ý"}, ...]'
                ctx.add("outcome_not_declared",
                        f"Điều kiện {compiled.source!r} đọc outcome nhưng biểu mẫu của bước {step_name!r} không khai báo outcome.",
                        f"The condition {compiled.source!r} reads outcome, but the form of step {step_name!r} "
                        f"does not declare it.",
                        f"Give that step a form whose properties.outcome lists the choices: {example}.",
                        f"Gắn cho bước đó một biểu mẫu có properties.outcome liệt kê các lựa chọn: {example}.", flow)
                continue
            for value in sorted(values - allowed):
                choices = ", ".join(sorted(allowed))
                ctx.add("outcome_value_unknown",
                        f"Điều kiện dùng outcome {value!r} nhưng biểu mẫu {form_id!r} chỉ cho phép {choices}.",
                        f"The condition uses outcome {value!r}, but form {form_id!r} of step {step_name!r} "
                        f"allows only {choices}.",
                        f"Add {value!r} to the outcome oneOf of {form_id}, or fix the condition.",
                        f"Thêm {value!r} vào oneOf của outcome trong {form_id}, hoặc sửa điều kiện.", flow)


def check_outcome_routing(ctx: ModelContext) -> None:
    """Every outcome a deciding step offers must lead somewhere on purpose: at most one
    untested choice may take the gateway's default flow (else two different choices,
    e.g. approve and supplement, would silently go the same way), and with no default
    flow every choice needs its own condition (else the run stops at the gateway)."""
    tested: dict[str, set[str]] = {}
    for _, source, compiled in gateway_conditions(ctx):
        tested.setdefault(source, set()).update(outcome_constants(compiled.tree))
    for gateway_id, values in sorted(tested.items()):
        if not values:
            continue
        gateway = ctx.elements[gateway_id]
        has_default = bool(gateway.get("default"))
        for step_id in sorted(preceding_steps(ctx, gateway_id)):
            form_id = read_properties(ctx.elements[step_id]).get(v.FORM)
            if form_id in ctx.bad_forms or form_id not in ctx.forms:
                continue
            offered = outcome_values(ctx.forms[form_id]) or frozenset()
            untested = sorted(offered - values)
            if (has_default and len(untested) > 1) or (not has_default and untested):
                step_name = ctx.elements[step_id].get("name") or step_id
                choices = ", ".join(untested)
                ctx.add("outcome_not_routed",
                        f"Biểu mẫu {form_id!r} của bước {step_name!r} cho chọn {choices} nhưng cổng "
                        f"{gateway_id!r} không có điều kiện riêng cho các lựa chọn này.",
                        f"Form {form_id!r} of step {step_name!r} offers {choices}, but gateway "
                        f"{gateway_id!r} has no condition of its own for "
                        + ("them (they would all take the default flow)." if has_default else "them and no default flow."),
                        "Add a flow with a condition such as outcome == 'supplement' for each choice, or remove "
                        "the choices the step must not offer from its form.",
                        "Thêm cho mỗi lựa chọn một luồng có điều kiện như outcome == 'supplement', hoặc bỏ khỏi "
                        "biểu mẫu những lựa chọn bước này không được đưa ra.", gateway)


def outcome_constants(tree: ast.Expression) -> set[str]:
    """The text values compared with `outcome` (`outcome == 'x'`, `'x' != outcome`, `outcome in (...)`)."""
    values: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            left, right = operands[i], operands[i + 1]
            for name_side, other in ((left, right), (right, left)):
                if not (isinstance(name_side, ast.Name) and name_side.id == v.OUTCOME):
                    continue
                if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(other, ast.Constant) and isinstance(other.value, str):
                    values.add(other.value)
                elif isinstance(op, (ast.In, ast.NotIn)) and name_side is left and isinstance(other, (ast.Tuple, ast.List, ast.Set)):
                    values |= {e.value for e in other.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return values
