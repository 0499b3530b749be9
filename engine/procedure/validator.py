"""The validator's entry points, kept where importers found them; the checks live in
`engine.procedure.validation`, one module per concern."""
from __future__ import annotations

from .validation import (  # noqa: F401 - re-exported
    Analysis, ValidationReport, analyse, default_forms_dir, iter_problem_lines, validate_file, validate_source,
)

__all__ = ["Analysis", "ValidationReport", "analyse", "default_forms_dir", "iter_problem_lines", "validate_file",
           "validate_source"]
