"""Entry point of the `isoflow` console script.

Each command group lives in its own module and is registered here, so the groups can
grow independently. Engine errors become a clear message on stderr and exit code 2
(bad input) or 1 (anything else the user must act on); never a traceback.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from engine.errors import IsoflowError, InvalidInput


# Every module of this package except `main` (and private ones) defines one click command
# or group named `command`; its name is the module name with dashes (import_table ->
# import-table). Imported lazily so `isoflow --help` stays fast and one broken group
# cannot hide the others.
COMMANDS: dict[str, str] = {
    info.name.replace("_", "-"): f"cli.{info.name}"
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name != "main" and not info.name.startswith("_")
}


class IsoflowGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            return importlib.import_module(COMMANDS[name]).command
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except IsoflowError as exc:
            report_error(exc)
            ctx.exit(2 if isinstance(exc, InvalidInput) else 1)


def report_error(exc: IsoflowError) -> None:
    click.echo(f"error [{exc.code}]: {exc.message_en}", err=True)
    if exc.message_vi != exc.message_en:
        click.echo(f"lỗi: {exc.message_vi}", err=True)
    for problem in exc.problems:
        where = " ".join(
            part
            for part in (
                f"--{problem.field}" if problem.field else "",
                f"element {problem.element_id}" if problem.element_id else "",
                f"line {problem.line}" if problem.line else "",
            )
            if part
        )
        click.echo(f"  - {problem.code}{' (' + where + ')' if where else ''}: {problem.message_en}", err=True)
        if problem.hint:
            click.echo(f"    hint: {problem.hint}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


@click.group(cls=IsoflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="isoflow")
def cli() -> None:
    """isoflow: ISO 9001 administrative procedures of commune People's Committees,
    run as BPMN models on SpiffWorkflow."""


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="isoflow")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
