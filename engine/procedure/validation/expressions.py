"""Expressions: gateway conditions, conditional events and timers compile under the safe
expression rules; constant timer values are valid ISO 8601. Nothing is evaluated but
constant timer texts, by the safe interpreter."""
from __future__ import annotations

import ast

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..expressions import UnsafeExpression, compile_expression
from .context import BPMN, ModelContext

TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


def check_expressions(ctx: ModelContext) -> None:
    for element in ctx.root.iter(f"{BPMN}conditionExpression", f"{BPMN}condition"):
        owner = element.getparent()
        if etree.QName(owner).localname == "conditionalEventDefinition":
            owner = owner.getparent()
        try:
            compiled = compile_expression(element.text or "")
            ctx.variables |= compiled.names
        except UnsafeExpression as exc:
            ctx.add_problem(exc.problem, owner)
    for timer in ctx.root.iter(f"{BPMN}timerEventDefinition"):
        event = timer.getparent()
        for kind in TIMER_KINDS:
            node = timer.find(f"{BPMN}{kind}")
            if node is not None:
                _check_timer(ctx, kind, (node.text or "").strip(), event)


def _check_timer(ctx: ModelContext, kind: str, text: str, event: etree._Element) -> None:
    try:
        compiled = compile_expression(text)
    except UnsafeExpression as exc:
        ctx.add_problem(exc.problem, event)
        return
    body = compiled.tree.body
    if isinstance(body, ast.Name) and (body.id[:1] in ("P", "R") or body.id[:1].isdigit()):
        ctx.add("timer_expression_invalid", f"Biểu thức hẹn giờ {text!r} phải đặt trong dấu nháy.",
                f"The timer expression {text!r} must be quoted.",
                f'Timer values are expressions: write "{text}" with quotes.',
                f'Giá trị hẹn giờ là biểu thức: viết "{text}" trong dấu nháy.', event)
        return
    if compiled.names:
        ctx.variables |= compiled.names
        return  # read from task data at run time; the interpreter bounds it
    try:
        value = compiled.evaluate({})
        if not isinstance(value, str):
            raise ValueError("not text")
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception as exc:  # noqa: BLE001 - Spiff raises bare Exception('Invalid duration')
        examples = 'timeDuration "PT4H", timeDate "2026-03-05T17:00:00+07:00", timeCycle "R3/PT1H".'
        ctx.add("timer_expression_invalid", f"Biểu thức hẹn giờ {text!r} không hợp lệ.",
                f"The timer {kind} {text!r} is not a valid ISO 8601 value ({exc}).",
                f"Examples: {examples}", f"Ví dụ: {examples}", event)
