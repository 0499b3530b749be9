"""The validation report: a file's root problems (each with its consequences) and its
renderings for people (CLI, logs)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..problems import ModelProblem


@dataclass
class ValidationReport:
    filename: str
    problems: list[ModelProblem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def all_problems(self) -> list[ModelProblem]:
        """Root problems and their consequences, flat."""
        flat: list[ModelProblem] = []
        for problem in self.problems:
            flat.append(problem)
            flat.extend(getattr(problem, "consequences", ()))
        return flat

    def to_dict(self) -> dict[str, Any]:
        """`problems` lists root problems only; each may carry `consequences` (same shape)."""
        return {"file": self.filename, "ok": self.ok, "problems": [p.to_dict() for p in self.problems]}


def iter_problem_lines(report: ValidationReport, language: str = "en") -> Iterable[str]:
    """Human-readable lines for one report (CLI and logs): the message in both languages,
    the hint in `language` then the other, and the consequences indented below."""
    for p in report.problems:
        yield from _problem_lines(report.filename, p, language, indent="")


def _problem_lines(filename: str, p: ModelProblem, language: str, indent: str) -> Iterable[str]:
    where = ":".join(x for x in (filename, str(p.line) if p.line else "") if x)
    element = f" [{p.element_id}]" if p.element_id else ""
    first, second = (p.message_vi, p.message_en) if language == "vi" else (p.message_en, p.message_vi)
    yield f"{indent}{where}: {p.code}{element}: {first}"
    yield f"{indent}    {second}"
    hint_vi = getattr(p, "hint_vi", "")
    hints = [("gợi ý", hint_vi), ("hint", p.hint)] if language == "vi" else [("hint", p.hint), ("gợi ý", hint_vi)]
    for label, text in hints:
        if text:
            yield f"{indent}    {label}: {text}"
    consequences = getattr(p, "consequences", ())
    if consequences:
        yield f"{indent}    consequences / hệ quả ({len(consequences)}):"
        for c in consequences:
            where_c = f"{c.line}" if c.line else ""
            element_c = f" [{c.element_id}]" if c.element_id else ""
            text = c.message_vi if language == "vi" else c.message_en
            yield f"{indent}      - {where_c}{element_c}: {text}"
