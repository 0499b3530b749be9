"""`isoflow import-table`: turn procedure tables (YAML or CSV) into BPMN models.

One file without --output prints the BPMN on stdout. --output PATH writes one file;
--output-dir DIR writes `<table name>.bpmn` for each table (the library is built with
`isoflow import-table bpmn/tables/*.yaml --output-dir bpmn`). Forms are checked in
--forms-dir (default: DIR/forms when --output-dir is given). Bad tables exit 2 with
every problem listed on stderr.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.errors import InvalidInput, Problem
from engine.procedure.table_import import check_forms, import_table_file, output_name


@click.command("import-table")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write the BPMN to this file (one table only); default: stdout")
@click.option("--output-dir", "-d", type=click.Path(file_okay=False, path_type=Path),
              help="write <table name>.bpmn for every table into this directory")
@click.option("--forms-dir", type=click.Path(file_okay=False, path_type=Path),
              help="check that every step's form exists here with the right outcomes")
def command(files: tuple[Path, ...], output: Path | None, output_dir: Path | None, forms_dir: Path | None) -> None:
    """Convert procedure step tables (FILES: .yaml/.yml/.csv) into BPMN models with lanes
    and a diagram (format: docs/import-table.md)."""
    if output and (len(files) > 1 or output_dir):
        raise InvalidInput(
            "--output takes a single table; use --output-dir for several",
            "--output chỉ dùng cho một bảng; dùng --output-dir cho nhiều bảng",
            hint="isoflow import-table bpmn/tables/*.yaml --output-dir bpmn",
        )
    if forms_dir is None and output_dir is not None and (output_dir / "forms").is_dir():
        forms_dir = output_dir / "forms"
    problems: list[Problem] = []
    results: list[tuple[Path, bytes]] = []
    for path in files:
        try:
            table, xml = import_table_file(path)
        except InvalidInput as exc:
            problems += [_in_file(p, path) for p in exc.problems] or [
                Problem("invalid_table", exc.message_vi, f"{path}: {exc.message_en}", exc.hint)]
            continue
        if forms_dir is not None:
            problems += [_in_file(p, path) for p in check_forms(table, forms_dir)]
        results.append((path, xml))
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s) in {len(files)} table(s); nothing was written",
            f"có {len(problems)} lỗi trong {len(files)} bảng; chưa ghi tệp nào",
            problems=problems,
            hint="fix the rows named above (format: docs/import-table.md)",
        )
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for path, xml in results:
            target = output_dir / output_name(path)
            target.write_bytes(xml)
            click.echo(str(target))
    elif output is not None:
        output.write_bytes(results[0][1])
        click.echo(str(output))
    else:
        for _, xml in results:
            sys.stdout.buffer.write(xml)
        sys.stdout.flush()


def _in_file(problem: Problem, path: Path) -> Problem:
    return Problem(problem.code, f"{path}: {problem.message_vi}", f"{path}: {problem.message_en}", problem.hint,
                   problem.element_id, problem.line, problem.field)
