"""`isoflow document ...`: printable documents as HTML or A4 PDF.

    isoflow document MODEL --format pdf --output quy-trinh.pdf
    isoflow document posting-sheet --unit TRIPHU --lookup-url URL --format pdf --output niem-yet.pdf
    isoflow document form DOSSIER_CODE --form 05 --user clerk --format pdf --output phieu-05.pdf
    isoflow document register --unit TRIPHU --from 2026-03-01 --to 2026-03-31 --user clerk -o so-theo-doi.pdf

MODEL is a .bpmn file (its forms are read from forms/ beside it; without a version record
the header says "dự thảo") or the code of a procedure stored in the database (its newest
version, with the version history as header and amendment log).
"""
from __future__ import annotations

import re
from pathlib import Path

import click

from cli._runtime import open_runtime
from engine.adapters.documents.dossier_forms import DEFAULT_EDITION
from engine.audit import Actor
from engine.errors import InvalidInput, NotFound, Problem

PROCEDURE_CODE = re.compile(r"^\d+\.\d{6}$")
FORMATS = click.Choice(["html", "pdf"])


class _DefaultToModel(click.Group):
    """`isoflow document MODEL ...` without naming a subcommand documents a model."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["model", *args]
        return super().parse_args(ctx, args)


@click.group("document", cls=_DefaultToModel)
def command() -> None:
    """Print the ISO procedure document of MODEL (a .bpmn file or a stored procedure code),
    the commune's posting sheet (posting-sheet), a dossier form (form) or the dossier
    register (register).

    Run `isoflow document model --help` for the options of MODEL."""


def _bad_input(exc: NotFound, field: str, hint: str) -> InvalidInput:
    """What the user typed names nothing: that is bad input (exit 2), not a missing object."""
    return InvalidInput(exc.message_en, exc.message_vi, code=exc.code, hint=exc.hint or hint,
                        problems=[Problem(exc.code, exc.message_vi, exc.message_en, field=field)])


def _user_id(rt, username: str) -> int:
    from sqlalchemy import select

    from engine.adapters.db.models import User

    with rt.read(Actor.system("cli")) as unit:
        user_id = unit.session.scalar(select(User.id).where(User.username == username, User.active.is_(True)))
    if user_id is None:
        raise InvalidInput(f"no active user {username!r}", f"không có người dùng {username!r}", code="unknown_user",
                           problems=[Problem("unknown_user", f"Không có người dùng {username!r}.",
                                             f"No active user {username!r}.", field="user")])
    return user_id


def _write(output: Path, html: str, fmt: str) -> None:
    from engine.adapters.documents import to_pdf

    payload = to_pdf(html) if fmt == "pdf" else html.encode("utf-8")
    _write_bytes(output, payload)


def _write_bytes(output: Path, payload: bytes) -> None:
    try:
        output.write_bytes(payload)
    except OSError as exc:
        raise InvalidInput(f"cannot write {output}: {exc.strerror}", f"không ghi được tệp {output}: {exc.strerror}",
                           code="unwritable_output", hint="check that the folder exists and is writable",
                           problems=[Problem("unwritable_output", f"Không ghi được {output}.", f"Cannot write {output}.",
                                             field="output")]) from exc
    click.echo(str(output))


@command.command("model")
@click.argument("model")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--unit-name", default=None, help='commune printed in the header, e.g. "Xã Tri Phú"')
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="for a procedure code: default $ISOFLOW_DATABASE_URL")
def model_command(model: str, fmt: str, output: Path, unit_name: str | None, database_url: str | None) -> None:
    """The ISO procedure document of MODEL: a .bpmn file or a stored procedure code."""
    from engine.adapters.documents import procedure_document
    from engine.procedure import compile_model

    path = Path(model)
    if path.suffix.lower() == ".bpmn" or path.exists():
        try:
            source = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}", f"không đọc được tệp {path}: {exc.strerror}",
                               code="unreadable_file", hint="give the path of a .bpmn file or a procedure code",
                               problems=[Problem("unreadable_file", f"Không đọc được {path}.", f"Cannot read {path}.",
                                                 field="model")]) from exc
        compiled = compile_model(source, path.name, forms_dir=path.parent / "forms")
        html = procedure_document(compiled, None, unit_name=unit_name)
    elif PROCEDURE_CODE.match(model):
        from engine.adapters.documents import render_procedure

        rt = open_runtime(database_url)
        try:
            payload = render_procedure(rt, model, fmt, unit_name=unit_name)
        except NotFound as exc:
            raise _bad_input(exc, "model", "publish the model first or give the path of its .bpmn file") from exc
        _write_bytes(output, payload)
        return
    else:
        raise InvalidInput(f"{model!r} is neither a .bpmn file nor a procedure code",
                           f"{model!r} không phải tệp .bpmn cũng không phải mã thủ tục", code="bad_model",
                           hint="give the path of a .bpmn file or a national procedure code such as 1.001193",
                           problems=[Problem("bad_model", "MODEL phải là tệp .bpmn hoặc mã thủ tục.",
                                             "MODEL must be a .bpmn file or a procedure code.", field="model")])
    _write(output, html, fmt)


@command.command("posting-sheet")
@click.option("--unit", "unit_code", required=True, help="code of the commune, e.g. TRIPHU")
@click.option("--lookup-url", envvar="ISOFLOW_PUBLIC_LOOKUP_URL", required=True,
              help="public lookup page printed as a QR code (default $ISOFLOW_PUBLIC_LOOKUP_URL)")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="procedures in effect on this day (default today)")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL")
def posting_sheet_command(unit_code: str, lookup_url: str, fmt: str, output: Path, on, database_url: str | None) -> None:
    """The commune's posting sheet: procedures in effect with time limit and fee, and a QR code."""
    from engine.adapters.documents import render_posting_sheet

    rt = open_runtime(database_url)
    try:
        payload = render_posting_sheet(rt, unit_code, fmt, lookup_url=lookup_url, on=on.date() if on else None)
    except NotFound as exc:
        raise _bad_input(exc, "unit", "give the code of a commune") from exc
    _write_bytes(output, payload)


@command.command("form")
@click.argument("dossier")
@click.option("--form", "form", default="01", show_default=True, help="number in the edition (03/2025: 01 slip, "
              "02 supplementation, 03 refusal, 04 apology, 05 stop notice, 06 control sheet; 01/2018: 05 control "
              "sheet) or kind: receipt, supplementation, refusal, apology, stop, control_sheet")
@click.option("--edition", default=DEFAULT_EDITION, show_default=True, help="circular whose form numbers to print")
@click.option("--user", "username", required=True, help="print as this user (their commune's dossiers only)")
@click.option("--lookup-url", envvar="ISOFLOW_PUBLIC_LOOKUP_URL", help="public lookup page for the slip's QR code")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL")
def form_command(dossier: str, form: str, edition: str, username: str, lookup_url: str | None, fmt: str,
                 output: Path, database_url: str | None) -> None:
    """A dossier form for DOSSIER (its code, e.g. TRIPHU-260303-0001)."""
    from engine.adapters.documents.dossier_forms import render_dossier_form

    rt = open_runtime(database_url)
    user_id = _user_id(rt, username)
    ref: int | str = int(dossier) if dossier.isdigit() else dossier
    try:
        payload = render_dossier_form(rt, Actor(user_id, username), ref, form, fmt, lookup_url=lookup_url,
                                      edition=edition)
    except NotFound as exc:
        raise _bad_input(exc, "dossier", "check the dossier code; other communes' dossiers are not visible") from exc
    _write_bytes(output, payload)


@command.command("register")
@click.option("--unit", "unit_code", required=True, help="code of the commune, e.g. TRIPHU")
@click.option("--from", "received_from", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first day of receipt")
@click.option("--to", "received_to", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last day of receipt")
@click.option("--user", "username", required=True, help="print as this user (their communes only)")
@click.option("--edition", default=DEFAULT_EDITION, show_default=True, help="circular whose form number to print")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL")
def register_command(unit_code: str, received_from, received_to, username: str, edition: str, fmt: str, output: Path,
                     database_url: str | None) -> None:
    """The dossier register (sổ theo dõi hồ sơ) of a commune for a period of receipt."""
    from engine.adapters.documents.dossier_forms import render_register

    rt = open_runtime(database_url)
    user_id = _user_id(rt, username)
    try:
        payload = render_register(rt, Actor(user_id, username), unit_code, received_from.date(), received_to.date(),
                                  fmt, edition=edition)
    except NotFound as exc:
        raise _bad_input(exc, "unit", "give the code of a commune where the user holds a role") from exc
    _write_bytes(output, payload)
