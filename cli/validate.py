"""`isoflow validate [--json] FILE...`: check procedure models, report every problem.

Exit 0 only if every file is valid; 2 if any is not (bad input). Text mode prints one
`ok` line per valid file on stdout and the problems (English, Vietnamese, hint) on
stderr; `--json` prints one machine-readable report on stdout.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from engine.procedure import validate_file
from engine.procedure.validator import ValidationReport, iter_problem_lines


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.bpmn")))
        else:
            files.append(path)
    return files


@click.command(name="validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report on stdout.")
@click.option("--forms-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Directory of step forms (<form_id>.json); default: forms/ next to each model.")
@click.option("--trusted-scripts", is_flag=True,
              help="Allow script tasks (operators only: models are untrusted input).")
def command(files: tuple[Path, ...], as_json: bool, forms_dir: Path | None, trusted_scripts: bool) -> None:
    """Validate BPMN procedure models (a directory means every *.bpmn in it)."""
    paths = _expand(files)
    if not paths:
        raise click.UsageError("no .bpmn file found in the given directories")
    reports: list[ValidationReport] = [
        validate_file(path, forms_dir=forms_dir, trusted_scripts=trusted_scripts) for path in paths
    ]
    invalid = [r for r in reports if not r.ok]
    if as_json:
        click.echo(json.dumps({"ok": not invalid, "files": [r.to_dict() for r in reports]},
                              ensure_ascii=False, indent=2))
    else:
        for report in reports:
            if report.ok:
                click.echo(f"ok: {report.filename}")
            else:
                for line in iter_problem_lines(report):
                    click.echo(line, err=True)
        problems = sum(len(r.problems) for r in reports)
        click.echo(f"{len(reports)} file(s) checked, {len(invalid)} invalid, {problems} problem(s)")
    if invalid:
        raise SystemExit(2)
