"""Safe expressions: gateway conditions and timer expressions of untrusted models.

SpiffWorkflow evaluates them with plain `eval`, which lets a model import modules or walk
`().__class__.__subclasses__()`. Here an expression is parsed once, checked against an
AST allow-list, and interpreted node by node: no attribute access, no names starting
with `_`, no comprehensions, lambdas or imports, only whitelisted functions, and bounded
source size, nesting, numbers and sequence lengths. Nothing is ever passed to eval/exec.
Script tasks are refused unless the engine is built with `trusted_scripts=True`.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.errors import InvalidInput, Problem

from .problems import ModelProblem

MAX_SOURCE_CHARS = 1000
MAX_NODES = 200
MAX_DEPTH = 20
MAX_NUMBER = 10**15
MAX_SEQUENCE = 10_000


class UnsafeExpression(InvalidInput):
    """An expression that does not compile, is not allowed, or failed within its bounds.

    `problem` locates it (code, message vi/en, hint); the validator adds element and line.
    """

    code = "unsafe_expression"

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message_en, problem.message_vi, code=problem.code, hint=problem.hint,
                         problems=[problem])
        self.problem = problem


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _problem(code: str, vi: str, en: str, hint: str, hint_vi: str) -> UnsafeExpression:
    return UnsafeExpression(ModelProblem(code=code, message_vi=vi, message_en=en, hint=hint, hint_vi=hint_vi))


def _not_allowed(what_vi: str, what_en: str, expression: str) -> UnsafeExpression:
    return _problem(
        "expression_not_allowed",
        f"Biểu thức {_show(expression)} dùng {what_vi}, không được phép.",
        f"The expression {_show(expression)} uses {what_en}, which is not allowed.",
        "Conditions compare form values, e.g. outcome == 'approve' or amount > 100000; "
        "only names, literals, comparisons, and/or/not, + - * / % and len/min/max/abs/round/int/float/str/bool/any/all/sum.",
        "Điều kiện so sánh giá trị của biểu mẫu, ví dụ outcome == 'approve' hoặc amount > 100000; "
        "chỉ dùng tên, hằng, phép so sánh, and/or/not, + - * / % và len/min/max/abs/round/int/float/str/bool/any/all/sum.",
    )


_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
    "str": str, "bool": bool, "any": any, "all": all, "sum": sum,
}
_NODE_NAMES_VI = {
    ast.Attribute: ("truy cập thuộc tính (dấu chấm)", "attribute access (a dot)"),
    ast.Lambda: ("lambda", "lambda"),
    ast.ListComp: ("comprehension", "a comprehension"),
    ast.SetComp: ("comprehension", "a comprehension"),
    ast.DictComp: ("comprehension", "a comprehension"),
    ast.GeneratorExp: ("comprehension", "a comprehension"),
    ast.NamedExpr: ("phép gán :=", "assignment :="),
    ast.Await: ("await", "await"),
    ast.Yield: ("yield", "yield"),
    ast.YieldFrom: ("yield", "yield"),
    ast.JoinedStr: ("f-string", "an f-string"),
    ast.Starred: ("toán tử *", "star unpacking"),
}


@dataclass(frozen=True)
class CompiledExpression:
    source: str
    tree: ast.Expression
    names: frozenset[str]

    def evaluate(self, names: Mapping[str, Any]) -> Any:
        interpreter = _Interpreter(names, self.source)
        try:
            return interpreter.visit(self.tree.body)
        except (RecursionError, MemoryError) as exc:  # e.g. comparing self-referencing task data
            raise interpreter.fail(f"dữ liệu quá lớn hoặc lồng quá sâu ({type(exc).__name__}).",
                                   f"the data is too large or nested too deeply ({type(exc).__name__}).") from None


def compile_expression(expression: str) -> CompiledExpression:
    """Parse and check an expression; raise UnsafeExpression saying what is wrong.

    Results, refusals included, are cached by text: a model repeats its conditions and
    the runtime evaluates the same few expressions all day.
    """
    result = _compile_cached(expression) if isinstance(expression, str) else _compile(expression)
    if isinstance(result, Problem):
        raise UnsafeExpression(result)
    return result


@lru_cache(maxsize=4096)
def _compile_cached(expression: str) -> CompiledExpression | Problem:
    return _compile(expression)


def _compile(expression: object) -> CompiledExpression | Problem:
    try:
        return _compile_or_raise(expression)
    except UnsafeExpression as exc:
        return exc.problem


def _compile_or_raise(expression) -> CompiledExpression:  # type: ignore[no-untyped-def]
    if not isinstance(expression, str):
        raise _problem("expression_not_allowed", "Biểu thức phải là văn bản.", "An expression must be text.",
                       "Write the condition as text, e.g. outcome == 'approve'.",
                       "Viết điều kiện dưới dạng văn bản, ví dụ outcome == 'approve'.")
    text = expression.strip()
    if not text:
        raise _problem("expression_syntax_error", "Biểu thức rỗng.", "The expression is empty.",
                       "Write a condition such as outcome == 'approve'.",
                       "Viết một điều kiện, ví dụ outcome == 'approve'.")
    if len(text) > MAX_SOURCE_CHARS:
        raise _problem(
            "expression_too_large",
            f"Biểu thức dài {len(text)} ký tự, tối đa {MAX_SOURCE_CHARS}.",
            f"The expression is {len(text)} characters long; the maximum is {MAX_SOURCE_CHARS}.",
            "Keep conditions short; compute complex values in the form instead.",
            "Viết điều kiện ngắn gọn; giá trị phức tạp hãy tính sẵn trong biểu mẫu.",
        )
    if text.startswith("${") or text.startswith("#{"):
        raise _problem(
            "expression_syntax_error",
            f"Biểu thức {_show(text)} viết theo cú pháp JUEL của Camunda.",
            f"The expression {_show(text)} is Camunda JUEL syntax.",
            "Write the bare condition without ${ }, e.g. outcome == 'approve'.",
            "Viết điều kiện trần, không có ${ }, ví dụ outcome == 'approve'.",
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or ""):
            raise _problem(
                "expression_too_large",
                f"Biểu thức {_show(text)} lồng nhau quá sâu.",
                f"The expression {_show(text)} is nested too deeply.",
                f"Nest at most {MAX_DEPTH} levels.",
            f"Lồng nhau tối đa {MAX_DEPTH} cấp.",
            ) from None
        raise _problem(
            "expression_syntax_error",
            f"Biểu thức {_show(text)} sai cú pháp: {exc.msg}.",
            f"The expression {_show(text)} does not compile: {exc.msg}.",
            "Use Python comparison syntax: outcome == 'approve', and/or/not, quotes around text.",
            "Dùng cú pháp so sánh của Python: outcome == 'approve', and/or/not, văn bản đặt trong dấu nháy.",
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _problem(
            "expression_too_large",
            f"Biểu thức {_show(text)} lồng nhau quá sâu.",
            f"The expression {_show(text)} is nested too deeply ({type(exc).__name__}).",
            f"Nest at most {MAX_DEPTH} levels.",
            f"Lồng nhau tối đa {MAX_DEPTH} cấp.",
        ) from None
    names: set[str] = set()
    _check(tree.body, text, names, depth=0, counter=[0])
    return CompiledExpression(text, tree, frozenset(names))


def _check(node: ast.AST, text: str, names: set[str], depth: int, counter: list[int]) -> None:
    counter[0] += 1
    if depth > MAX_DEPTH:
        raise _problem("expression_too_large", f"Biểu thức {_show(text)} lồng nhau quá {MAX_DEPTH} cấp.",
                       f"The expression {_show(text)} is nested deeper than {MAX_DEPTH} levels.",
                       "Simplify the condition.", "Hãy đơn giản hóa điều kiện.")
    if counter[0] > MAX_NODES:
        raise _problem("expression_too_large", f"Biểu thức {_show(text)} quá phức tạp.",
                       f"The expression {_show(text)} has more than {MAX_NODES} parts.", "Simplify the condition.",
                       "Hãy đơn giản hóa điều kiện.")
    if isinstance(node, ast.Constant):
        if not (node.value is None or isinstance(node.value, (bool, int, float, str))):
            raise _not_allowed("hằng số kiểu này", f"a {type(node.value).__name__} literal", text)
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and abs(node.value) > MAX_NUMBER:
            raise _not_allowed("số quá lớn", "a number larger than 10**15", text)
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _not_allowed(f"tên {node.id!r} bắt đầu bằng '_'", f"the name {node.id!r} starting with '_'", text)
        names.add(node.id)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN_OPS:
            raise _not_allowed(f"toán tử {_op_symbol(node.op)}", f"the operator {_op_symbol(node.op)}", text)
        children: list[ast.AST] = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY_OPS:
            raise _not_allowed(f"toán tử {_op_symbol(node.op)}", f"the operator {_op_symbol(node.op)}", text)
        children = [node.operand]
    elif isinstance(node, ast.BoolOp):
        children = list(node.values)
    elif isinstance(node, ast.Compare):
        children = [node.left, *node.comparators]
    elif isinstance(node, ast.IfExp):
        children = [node.test, node.body, node.orelse]
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        children = list(node.elts)
    elif isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _not_allowed("toán tử **", "dict unpacking (**)", text)
        children = [*node.keys, *node.values]  # type: ignore[list-item]
    elif isinstance(node, ast.Subscript):
        children = [node.value, node.slice]
    elif isinstance(node, ast.Slice):
        children = [c for c in (node.lower, node.upper, node.step) if c is not None]
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise _not_allowed(f"lời gọi hàm {called!r}", f"a call to {called!r} (not a whitelisted function)", text)
        if node.keywords:
            raise _not_allowed("tham số có tên", "keyword arguments", text)
        children = list(node.args)
    else:
        vi, en = _NODE_NAMES_VI.get(type(node), (f"cú pháp {type(node).__name__}", f"{type(node).__name__} syntax"))
        raise _not_allowed(vi, en, text)
    for child in children:
        _check(child, text, names, depth + 1, counter)


def _op_symbol(op: ast.AST) -> str:
    return {ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&",
            ast.BitXor: "^", ast.MatMult: "@", ast.Invert: "~"}.get(type(op), type(op).__name__)


class _Interpreter:
    """Walks a checked tree. Each intermediate value is bounded so no expression can
    allocate or compute without limit."""

    def __init__(self, names: Mapping[str, Any], text: str) -> None:
        self.names = names
        self.text = text

    def fail(self, vi: str, en: str, hint: str = "", hint_vi: str = "") -> UnsafeExpression:
        return _problem("expression_failed", f"Biểu thức {_show(self.text)}: {vi}", f"Expression {_show(self.text)}: {en}",
                        hint or "Check the form values the condition reads.",
                        hint_vi or "Kiểm tra các giá trị biểu mẫu mà điều kiện đọc.")

    def bounded(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail("kết quả không hữu hạn.", "the result is not finite.")
            if abs(value) > MAX_NUMBER:
                raise self.fail("số vượt giới hạn 10**15.", "a number exceeds 10**15.")
        elif isinstance(value, (str, list, tuple, dict, set, bytes)) and len(value) > MAX_SEQUENCE:
            raise self.fail(f"giá trị dài hơn {MAX_SEQUENCE}.", f"a value is longer than {MAX_SEQUENCE}.")
        return value

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__)
        return self.bounded(method(node))

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in ("True", "False", "None"):  # pragma: no cover - parsed as Constant
            return {"True": True, "False": False, "None": None}[node.id]
        raise _problem(
            "expression_unknown_name",
            f"Biểu thức {_show(self.text)}: chưa có giá trị {node.id!r}.",
            f"Expression {_show(self.text)}: no value named {node.id!r}.",
            f"The form of the step before this gateway must submit {node.id!r}.",
            f"Biểu mẫu của bước trước cổng rẽ nhánh này phải gửi giá trị {node.id!r}.",
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Mod) and isinstance(left, (str, bytes)):
            # `'%0999999999d' % 1` would build a gigantic string before any bound is checked
            raise self.fail("không được định dạng chuỗi bằng %.", "text formatting with % is not allowed.",
                            "Compare values instead of formatting text.", "Hãy so sánh giá trị thay vì định dạng chuỗi.")
        if isinstance(node.op, ast.Mult):
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * max(times, 0) > MAX_SEQUENCE:
                    raise self.fail("chuỗi lặp quá dài.", f"a repeated sequence is longer than {MAX_SEQUENCE}.")
        try:
            return _BIN_OPS[type(node.op)](left, right)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise self.fail(f"phép tính lỗi ({exc}).", f"the arithmetic failed ({exc}).") from None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        try:
            return _UNARY_OPS[type(node.op)](self.visit(node.operand))
        except TypeError as exc:
            raise self.fail(f"phép tính lỗi ({exc}).", f"the operation failed ({exc}).") from None

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for item in node.values:
            value = self.visit(item)
            if is_and and not value or not is_and and value:
                return value
        return value

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            try:
                if not _COMPARE_OPS[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise self.fail(f"không so sánh được ({exc}).", f"cannot compare ({exc}).") from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.visit(e) for e in node.elts)

    def visit_Set(self, node: ast.Set) -> Any:
        try:
            return {self.visit(e) for e in node.elts}
        except TypeError as exc:
            raise self.fail(f"tập hợp lỗi ({exc}).", f"bad set ({exc}).") from None

    def visit_Dict(self, node: ast.Dict) -> Any:
        try:
            return {self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
        except TypeError as exc:
            raise self.fail(f"từ điển lỗi ({exc}).", f"bad dict ({exc}).") from None

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        container, key = self.visit(node.value), self.visit(node.slice)
        if not isinstance(container, (dict, list, tuple, str)):
            raise self.fail("chỉ lấy phần tử của danh sách, từ điển hoặc chuỗi.",
                            "only lists, dicts and strings can be indexed.")
        try:
            return container[key]
        except (LookupError, TypeError, ValueError) as exc:
            raise self.fail(f"không lấy được phần tử {key!r} ({type(exc).__name__}).",
                            f"no item {key!r} ({type(exc).__name__}).") from None

    def visit_Slice(self, node: ast.Slice) -> Any:
        parts = [None if c is None else self.visit(c) for c in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def visit_Call(self, node: ast.Call) -> Any:
        args = [self.visit(a) for a in node.args]
        for arg in args:
            if isinstance(arg, str) and len(arg) > 100 and node.func.id in ("int", "float"):  # type: ignore[attr-defined]
                raise self.fail("số dạng chuỗi quá dài.", "a number given as text is too long.")
        if node.func.id == "round" and len(args) > 1 and isinstance(args[1], int) and abs(args[1]) > 20:  # type: ignore[attr-defined]
            # round(5, -10**15) would compute 10**(10**15)
            raise self.fail("round() chỉ nhận tối đa 20 chữ số.", "round() takes at most 20 digits.")
        try:
            return FUNCTIONS[node.func.id](*args)  # type: ignore[attr-defined]
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            raise self.fail(f"hàm {node.func.id}() lỗi ({exc}).",  # type: ignore[attr-defined]
                            f"{node.func.id}() failed ({exc}).") from None  # type: ignore[attr-defined]


def safe_evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    return compile_expression(expression).evaluate(names)


def script_refused_problem() -> ModelProblem:
    return ModelProblem(
        code="script_task_refused",
        message_vi="Mô hình chứa mã kịch bản (script), không được phép chạy.",
        message_en="The model contains a script, which is refused: models are untrusted input.",
        hint="Replace the script task with a user task and a form, or a gateway condition; "
             "only an operator can enable trusted scripts.",
        hint_vi="Thay bước kịch bản bằng một userTask có biểu mẫu, hoặc một điều kiện ở cổng rẽ nhánh; "
                "chỉ người vận hành mới bật được chế độ tin cậy kịch bản.",
    )


class SafeEnvironment(TaskDataEnvironment):
    """Every condition and timer expression at run time goes through the allow-list
    interpreter; scripts raise unless this environment was built trusted."""

    def __init__(self, *, trusted_scripts: bool = False) -> None:
        super().__init__({})
        self.trusted_scripts = trusted_scripts

    def evaluate(self, expression, context, external_context=None):  # type: ignore[override]
        names = dict(external_context or {})
        names.update(context)
        return safe_evaluate(expression, names)

    def execute(self, script, context, external_context=None):  # type: ignore[override]
        if not self.trusted_scripts:
            raise UnsafeExpression(script_refused_problem())
        return super().execute(script, context, external_context)


class SafeScriptEngine(PythonScriptEngine):
    def __init__(self, *, trusted_scripts: bool = False) -> None:
        super().__init__(environment=SafeEnvironment(trusted_scripts=trusted_scripts))

    def validate(self, expression):  # type: ignore[override]
        compile_expression(expression)
