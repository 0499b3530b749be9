"""Steps: every human task judged by the dialect's step rules (`rules.judge_step`, the
same rules the table importer and the parser apply), located at the task.

A lane whose name is not a role makes every step in it wrong for one reason: with two or
more such steps, the lane is reported once with the steps as consequences."""
from __future__ import annotations

from engine.domain import vocabulary as v
from engine.domain.roles import STEP_ROLES

from ..parser import read_properties, step_attributes
from ..problems import ModelProblem, located
from ..specs import StepDefinition
from .context import BPMN, HUMAN_TASKS, ModelContext


def check_steps(ctx: ModelContext) -> None:
    by_lane: dict[str, list[ModelProblem]] = {}
    for node_id, kind in ctx.kind.items():
        if kind not in HUMAN_TASKS:
            continue
        element = ctx.elements[node_id]
        props = read_properties(element)
        ok = True
        for name in props:
            if name not in v.TASK_PROPERTIES:
                ok = False
                known = ", ".join(sorted(v.TASK_PROPERTIES))
                ctx.add("property_unknown", f"Thuộc tính bước {name!r} không có trong bộ từ vựng.",
                        f"Unknown task property {name!r}.", f"Task properties: {known}.",
                        f"Các thuộc tính của bước: {known}.", element)
        lane = ctx.lane_of.get(node_id)
        attributes, issues = step_attributes(element, lane)
        for issue in issues:
            ok = False
            problem = located(issue, element_id=node_id, line=element.sourceline)
            if issue.code == "role_unknown" and v.ROLE not in props and lane:
                by_lane.setdefault(lane, []).append(problem)  # placed once the lane's count is known
            ctx.problems.append(problem)
        if ok:
            ctx.steps[node_id] = StepDefinition(
                bpmn_id=node_id, name=(element.get("name") or "").strip(), name_en=attributes["name_en"],
                role=attributes["role"], duration=attributes["duration"], clock=attributes["clock"],
                form=attributes["form"], record=attributes["record"], status=attributes["status"], lane=lane,
            )
    for lane, problems in by_lane.items():
        if len(problems) > 1:
            _collapse_lane(ctx, lane, problems)


def _collapse_lane(ctx: ModelContext, lane: str, problems: list[ModelProblem]) -> None:
    lane_element = next((el for el in ctx.root.iter(f"{BPMN}lane") if (el.get("name") or "").strip() == lane), None)
    first = ctx.problems.index(problems[0])
    for problem in problems:
        ctx.problems.remove(problem)
    known = ", ".join(sorted(STEP_ROLES))
    root = ModelProblem(
        code="role_unknown",
        message_vi=f"Làn {lane!r} không mang mã vai trò hợp lệ, nên {len(problems)} bước trong làn không có người thực hiện.",
        message_en=f"The lane {lane!r} is not named with a known role, so its {len(problems)} steps have no valid role.",
        hint=f"Rename the lane with a role code ({known}), or set the role property of each step.",
        hint_vi=f"Đổi tên làn thành một mã vai trò ({known}), hoặc khai báo thuộc tính role cho từng bước.",
        element_id=lane_element.get("id") if lane_element is not None else None,
        line=lane_element.sourceline if lane_element is not None else None,
        consequences=tuple(problems),
    )
    ctx.problems.insert(first, root)
