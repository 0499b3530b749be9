"""`isoflow import-table`: turn procedure tables (YAML or CSV, or a province's .xlsx/.docx
annex holding many procedures) into BPMN models.

One file without --output prints the BPMN on stdout. --output PATH writes one file;
--output-dir DIR writes `<table name>.bpmn` for each table (the library is built with
`isoflow import-table bpmn/tables/*.yaml --output-dir bpmn`). When the step forms are
found, each model is also checked by the procedure validator (statutory limit, forms,
conditions) and its problems are pointed back at the table rows. Bad tables exit 2 with
every problem listed on stderr, and nothing is written.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.errors import InvalidInput, Problem
from engine.procedure.table_import import check_forms, read_tables, table_to_bpmn, validate_table_model


@click.command("import-table")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write the BPMN to this file (one table only); default: stdout")
@click.option("--output-dir", "-d", type=click.Path(file_okay=False, path_type=Path),
              help="write <table name>.bpmn for every table into this directory")
@click.option("--forms-dir", type=click.Path(file_okay=False, path_type=Path),
              help="the step forms (default: DIR/forms, the output's forms/, or forms/ beside or above the table)")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="check forms and run the procedure validator (statutory limit...) when the forms are found")
@click.option("--source", default="",
              help="the publication a province's .xlsx/.docx comes from (e.g. 'Quyết định 123/QĐ-UBND ngày "
                   "01/7/2025'), when the file does not name it; cited for every fact it gives")
def command(files: tuple[Path, ...], output: Path | None, output_dir: Path | None, forms_dir: Path | None,
            validate: bool, source: str) -> None:
    """Convert procedure step tables (FILES: .yaml/.yml/.csv, or a province's .xlsx/.docx
    catalogue with its internal-process tables) into BPMN models with lanes and a diagram
    (format: docs/import-table.md)."""
    if output and (len(files) > 1 or output_dir):
        raise InvalidInput(
            "--output takes a single table; use --output-dir for several",
            "--output chỉ dùng cho một bảng; dùng --output-dir cho nhiều bảng",
            hint="isoflow import-table bpmn/tables/*.yaml --output-dir bpmn",
        )
    problems: list[Problem] = []
    results: list[tuple[str, bytes]] = []
    for path in files:
        try:
            tables = read_tables(path, source)
        except InvalidInput as exc:
            problems += [_in_file(p, path) for p in exc.problems] or [
                Problem("invalid_table", exc.message_vi, f"{path}: {exc.message_en}", exc.hint)]
            continue
        forms = forms_dir or _find_forms_dir(path, output, output_dir)
        if validate and forms is None:
            click.echo(f"note: {path}: not validated, no forms directory found (give --forms-dir)", err=True)
        for table, name in tables:
            xml = table_to_bpmn(table)
            if validate and forms is not None:
                form_problems = check_forms(table, forms)
                seen = {(p.element_id, "form") for p in form_problems}
                problems += [_in_file(p, path) for p in form_problems]
                problems += [_in_file(p, path) for p in validate_table_model(table, xml, forms)
                             if not (p.code.startswith("form_") and (p.element_id, "form") in seen)]
            results.append((name, xml))
    if not problems and len(results) > 1 and output_dir is None:
        raise InvalidInput(
            f"{len(results)} procedures were read; give --output-dir to write one model each",
            f"đã đọc {len(results)} thủ tục; dùng --output-dir để ghi mỗi thủ tục một mô hình",
            hint="isoflow import-table annex.xlsx --output-dir bpmn",
        )
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s) in {len(files)} table(s); nothing was written",
            f"có {len(problems)} lỗi trong {len(files)} bảng; chưa ghi tệp nào",
            problems=problems,
            hint="fix the rows named above (format: docs/import-table.md)",
        )
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, xml in results:
            target = output_dir / name
            target.write_bytes(xml)
            click.echo(str(target))
    elif output is not None:
        output.write_bytes(results[0][1])
        click.echo(str(output))
    else:
        for _, xml in results:
            sys.stdout.buffer.write(xml)
        sys.stdout.flush()


def _find_forms_dir(table: Path, output: Path | None, output_dir: Path | None) -> Path | None:
    """Where a table's forms live when not given: beside the models written, else beside or
    above the table (the library keeps tables in bpmn/tables and forms in bpmn/forms)."""
    candidates = [output_dir / "forms" if output_dir else None, output.parent / "forms" if output else None,
                  table.parent / "forms", table.parent.parent / "forms"]
    return next((c for c in candidates if c is not None and c.is_dir()), None)


def _in_file(problem: Problem, path: Path) -> Problem:
    return Problem(problem.code, f"{path}: {problem.message_vi}", f"{path}: {problem.message_en}", problem.hint,
                   problem.element_id, problem.line, problem.field)
