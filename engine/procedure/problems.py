"""Problems of a procedure model or table: `engine.errors.Problem` plus what a validation
report needs on top of it, a Vietnamese hint beside the English one and the consequences
of a root problem (so one missing flow is one row, not one row per unreachable node).

Kept free of SpiffWorkflow and lxml so the table importer can use it too.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from engine.errors import Problem


@dataclasses.dataclass(frozen=True)
class Issue:
    """A rule's verdict on one value, before it is located (element and line, or table
    row and column): every message and hint in Vietnamese and English."""

    field: str  # the property or column judged: name, role, duration, clock, status, form, ...
    code: str
    message_vi: str
    message_en: str
    hint_vi: str
    hint_en: str


@dataclasses.dataclass(frozen=True)
class ModelProblem(Problem):
    """`hint` stays the English hint (what consumers read before); `hint_vi` is its
    Vietnamese twin. `consequences` are the problems that follow from this one alone."""

    hint_vi: str = ""
    consequences: tuple["ModelProblem", ...] = ()

    @property
    def hint_en(self) -> str:
        return self.hint

    def localized_hint(self, language: str) -> str:
        return self.hint if language == "en" or not self.hint_vi else self.hint_vi

    def with_consequences(self, consequences: list["ModelProblem"]) -> "ModelProblem":
        return dataclasses.replace(self, consequences=tuple(consequences))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code, "message_vi": self.message_vi, "message_en": self.message_en,
        }
        for key in ("hint", "element_id", "line", "field"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["hint_en"] = self.hint
        out["hint_vi"] = self.hint_vi
        if self.consequences:
            out["consequences"] = [c.to_dict() for c in self.consequences]
        return out


def located(issue: Issue, *, element_id: str | None = None, line: int | None = None,
            field: str | None = None, message_vi: str | None = None, message_en: str | None = None,
            code: str | None = None) -> ModelProblem:
    """An issue placed in its source; the table importer rewords and re-codes it per column."""
    return ModelProblem(
        code=code or issue.code, message_vi=message_vi or issue.message_vi, message_en=message_en or issue.message_en,
        hint=issue.hint_en, hint_vi=issue.hint_vi, element_id=element_id, line=line, field=field,
    )


def bilingual(problem: Problem, hint_vi: str = "") -> ModelProblem:
    """A plain Problem as a ModelProblem (keeps its location)."""
    if isinstance(problem, ModelProblem):
        return problem
    return ModelProblem(code=problem.code, message_vi=problem.message_vi, message_en=problem.message_en,
                        hint=problem.hint, hint_vi=hint_vi, element_id=problem.element_id, line=problem.line,
                        field=problem.field)
