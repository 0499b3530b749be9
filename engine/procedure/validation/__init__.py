"""Judging a model, split by concern: every problem at once, each with a code, element
id, line, message and hint in Vietnamese and English. Nothing from the model is executed.

Order: hardened XML load -> BPMN XSD (`spiff`) -> `structure` (one process, scopes,
supported nodes, reachability) -> `process` metadata and `steps` (the dialect's rules,
shared with the table importer and the parser) -> `forms` -> `expressions` -> `timing`
(limits) -> SpiffWorkflow's parser building the dialect's specs. `analyse` returns the
problems and, when there are none, the specs and what `model.ProcedureModel` adds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from ..parser import parse_specs
from ..problems import ModelProblem, bilingual
from ..xmlsafe import MAX_ELEMENTS, MAX_SOURCE_BYTES, load_xml
from .context import ModelContext
from .expressions import check_expressions
from .forms import check_outcome_routing, check_outcomes, load_forms
from .process import check_process
from .report import ValidationReport, iter_problem_lines
from .spiff import report_spiff_error, xsd_problems
from .steps import check_steps
from .structure import check_nodes, collect_structure, the_process
from .timing import check_limits, order_scopes, step_order, total_remaining

__all__ = ["Analysis", "ValidationReport", "analyse", "default_forms_dir", "iter_problem_lines", "validate_file",
           "validate_source"]


@dataclass
class Analysis:
    """A valid model: SpiffWorkflow specs built by the dialect's parser (steps and metadata
    live on them) plus what the graph adds (step order, remaining time, gateway variables)."""

    root: etree._Element
    spec: Any
    subprocess_specs: dict[str, Any]
    step_order: list[str]
    document_order: list[str]  # the steps in document order (the order of `ProcedureModel.steps`)
    forms: dict[str, dict[str, Any]]
    remaining: Callable[[], dict[str, timedelta]]  # computed on demand: validation alone does not need it
    gateway_variables: frozenset[str]


def _run(ctx: ModelContext) -> Analysis | None:
    process = the_process(ctx)
    if process is None:
        return None
    metadata = check_process(ctx, process)
    collect_structure(ctx, process)
    check_nodes(ctx)
    check_steps(ctx)
    load_forms(ctx)
    check_expressions(ctx)
    order_scopes(ctx)
    check_outcomes(ctx)
    check_outcome_routing(ctx)
    if metadata is not None:
        check_limits(ctx, process, metadata)
    spec = subprocess_specs = None
    try:  # SpiffWorkflow's own checks run even when ours found problems: every problem at once
        spec, subprocess_specs = parse_specs(ctx.root, ctx.filename, process.get("id"), strict=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, never raised
        report_spiff_error(ctx, exc, process)
    if ctx.problems or metadata is None or spec is None:
        return None
    return Analysis(root=ctx.root, spec=spec, subprocess_specs=subprocess_specs, step_order=step_order(ctx),
                    document_order=list(ctx.steps),
                    forms=ctx.forms, remaining=lambda: total_remaining(ctx),
                    gateway_variables=frozenset(ctx.variables))


def analyse(source: bytes, filename: str, *, forms: dict[str, Any] | None = None, forms_dir: Path | None = None,
            trusted_scripts: bool = False, max_bytes: int = MAX_SOURCE_BYTES,
            max_elements: int = MAX_ELEMENTS) -> tuple[list[ModelProblem], Analysis | None]:
    if isinstance(source, str):
        source = source.encode("utf-8")
    loaded = load_xml(source, max_bytes=max_bytes, max_elements=max_elements)
    if loaded.root is None:
        return [bilingual(p) for p in loaded.problems], None
    problems = xsd_problems(loaded.root)
    if problems:
        return problems, None
    ctx = ModelContext(loaded.root, filename, forms, Path(forms_dir) if forms_dir is not None else None,
                       trusted_scripts)
    analysis = _run(ctx)
    return ctx.problems, analysis


def validate_source(source: bytes, filename: str, *, forms: dict[str, Any] | None = None,
                    forms_dir: Path | None = None, trusted_scripts: bool = False) -> ValidationReport:
    """Every problem of one model. `forms` (id -> schema) wins over `forms_dir`."""
    problems, _ = analyse(source, filename, forms=forms, forms_dir=forms_dir, trusted_scripts=trusted_scripts)
    return ValidationReport(filename, problems)


def default_forms_dir(path: Path) -> Path:
    return path.parent / "forms"


def validate_file(path: Path | str, *, forms: dict[str, Any] | None = None, forms_dir: Path | None = None,
                  trusted_scripts: bool = False) -> ValidationReport:
    """Validate a .bpmn file; its forms are looked up in `forms/` next to it by default."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            source = path.open("rb").read(MAX_SOURCE_BYTES + 1)
        else:
            source = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return ValidationReport(str(path), [ModelProblem(
            code="file_unreadable", message_vi=f"Không đọc được tệp: {reason}",
            message_en=f"Cannot read the file: {reason}", hint="Check the path and permissions.",
            hint_vi="Kiểm tra đường dẫn và quyền đọc tệp.")])
    if forms is None and forms_dir is None:
        forms_dir = default_forms_dir(path)
    return validate_source(source, str(path), forms=forms, forms_dir=forms_dir, trusted_scripts=trusted_scripts)
