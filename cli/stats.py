"""`isoflow stats`: the §7 monitoring report (ISO 9001 clause 9.1, Decision 766/QĐ-TTg)
as a table or JSON. All counting is engine.views.statistics; this module reads the
arguments and prints."""
from __future__ import annotations

import json

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.config import Settings
from engine.errors import InvalidInput, NotFound, Problem
from engine.runtime import Runtime
from engine.views.statistics import GROUPINGS, StatisticsReport, StatisticsRow, compute_statistics

# (Vietnamese header, English meaning, value of a row)
COLUMNS: list[tuple[str, str, object]] = [
    ("Mã", "key: commune code, field code, procedure code or username", lambda r: r.key),
    ("Tên", "name", lambda r: r.label),
    ("Tồn", "carried over: open at the period start, received before it", lambda r: r.carried_over),
    ("Mới", "received within the period", lambda r: r.received_new),
    ("TT", "of which in person (channel 1)", lambda r: r.received_by_channel["1"]),
    ("TTuyến", "of which online (channel 2)", lambda r: r.received_by_channel["2"]),
    ("BC", "of which by post (channel 3)", lambda r: r.received_by_channel["3"]),
    ("Số hóa", "of the new ones, digitised: papers scanned at the desk on receipt", lambda r: r.received_digitised),
    ("Trước hạn", "finished early within the period", lambda r: r.finished_early),
    ("Đúng hạn", "finished on time", lambda r: r.finished_on_time),
    ("Quá hạn", "finished late (or after more than one supplementation request)", lambda r: r.finished_late),
    ("Rút/dừng", "withdrawn or stopped within the period", lambda r: r.ended_without_result),
    ("Còn trong hạn", "open at the period end, within the limit", lambda r: r.pending_within_limit),
    ("Còn quá hạn", "open at the period end, overdue", lambda r: r.pending_overdue),
    ("2.1 (%)", "indicator 2.1: share finished early or on time", lambda r: _num(r.indicator_2_1)),
    ("2.2 (ngày)", "indicator 2.2: average processing time in working days", lambda r: _num(r.indicator_2_2_days)),
    ("Số hóa (%)", "share of new dossiers digitised at receipt (Decision 766 digitisation)",
     lambda r: _num(r.digitised_percent)),
]
GROUP_NAMES_VI = {"commune": "xã", "field": "lĩnh vực", "procedure": "thủ tục", "officer": "cán bộ xử lý"}
LABEL_WIDTH = 40


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _columns_help() -> str:
    return "\b\nColumns of the table:\n" + "\n".join(f"  {vi:<13} {en}" for vi, en, _ in COLUMNS)


@click.command("stats", epilog=_columns_help())
@click.option("--period", required=True,
              help="2026-03 (month), 2026-Q1 (quarter), 2026-H1 or 2026-6M (first 6 months), 2026-9M, 2026 (year)")
@click.option("--by", "group_by", type=click.Choice(GROUPINGS),
              help="group rows by commune, field, procedure or officer (officer rows count steps, not dossiers); "
                   "required for the table and JSON, not for xlsx (the workbook has a sheet per grouping)")
@click.option("--unit", "unit_code", help="only this commune (its code, e.g. TRIPHU)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON instead of a table (= --format json)")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "xlsx"]), default=None,
              help="table (default), json, or xlsx: the periodic report workbook (docs/statistics.md), needs --output")
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True),
              help="file to write the xlsx workbook to")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")
def command(period: str, group_by: str | None, unit_code: str | None, as_json: bool, output_format: str | None,
            output: str | None, database_url: str | None) -> None:
    """Statistics of dossiers for a period (ISO 9001 clause 9.1, Decision 766/QĐ-TTg):
    received (carried over and new, by channel), finished early / on time / late, pending
    within limit / overdue, indicators 2.1 and 2.2. Periods are local dates in Hà Nội time;
    pending dossiers are judged at the close of the period's last day (or now, for a
    period still running). Runs as the operator: every commune is included."""
    output_format = output_format or ("json" if as_json else "table")
    if as_json and output_format != "json":
        raise InvalidInput("--json contradicts --format " + output_format, "--json mâu thuẫn với --format " + output_format,
                           code="bad_format", hint="give one of them")
    if output_format == "xlsx" and not output:
        raise InvalidInput("--format xlsx needs --output FILE", "--format xlsx cần --output TỆP", code="missing_output",
                           hint="e.g. --output bao-cao-2026-03.xlsx",
                           problems=[Problem("missing_output", "Thiếu --output.", "--output is missing.", field="output")])
    if output_format != "xlsx" and not group_by:
        raise InvalidInput("--by is required for the table and JSON", "cần --by cho bảng và JSON", code="missing_by",
                           hint=f"one of: {', '.join(GROUPINGS)}",
                           problems=[Problem("missing_by", "Thiếu --by.", "--by is missing.", field="by")])
    settings = Settings.from_env()
    if database_url:
        settings = Settings(database_url=database_url, bpmn_dir=settings.bpmn_dir,
                            trusted_scripts=settings.trusted_scripts, secret_key=settings.secret_key)
    _require_existing_sqlite_file(settings.database_url)
    rt = Runtime.from_settings(settings)
    try:
        if output_format == "xlsx":
            from pathlib import Path

            from engine.views.statistics_workbook import build_workbook

            data = build_workbook(rt, Actor.system("cli"), period=period, unit_code=unit_code)
            Path(output).write_bytes(data)
            click.echo(f"Đã ghi báo cáo / report written: {output} ({len(data)} bytes)")
            return
        report = compute_statistics(rt, Actor.system("cli"), period=period, group_by=group_by, unit_code=unit_code)
    except NotFound as exc:  # the operator sees every commune: an unknown code is a typo
        raise InvalidInput(exc.message_en, exc.message_vi, code="unknown_unit", hint="check the commune code (--unit)",
                           problems=[Problem("unknown_unit", exc.message_vi, exc.message_en, field="unit")]) from None
    except (OperationalError, ProgrammingError) as exc:
        raise InvalidInput(
            f"the database at --database-url cannot be read: {exc.orig}",
            f"không đọc được cơ sở dữ liệu (--database-url): {exc.orig}",
            code="database_not_ready",
            hint="check the URL; create or update the schema with `isoflow db upgrade --database-url URL`",
        ) from None
    finally:
        rt.db.dispose()
    if output_format == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(report))


def _require_existing_sqlite_file(url: str) -> None:
    """A report only reads: a mistyped SQLite path must not create an empty database."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return  # the database layer reports malformed URLs itself
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        if not Path(parsed.database).exists():
            raise InvalidInput(
                f"--database-url: no SQLite database at {parsed.database}",
                f"--database-url: không có cơ sở dữ liệu SQLite tại {parsed.database}",
                code="database_not_found",
                hint="check the path, or create the database with `isoflow db upgrade --database-url URL`",
            )


def render_table(report: StatisticsReport) -> str:
    p = report.period
    unit = f", xã {report.unit_code}" if report.unit_code else ""
    counted = "bước xử lý (steps)" if report.group_by == "officer" else "hồ sơ (dossiers)"
    lines = [
        f"Thống kê giải quyết TTHC - {p.label} ({p.start:%d/%m/%Y} - {p.end:%d/%m/%Y}), "
        f"theo {GROUP_NAMES_VI[report.group_by]}{unit}; đơn vị đếm: {counted}",
    ]
    body: list[StatisticsRow] = [*report.rows, report.total]
    cells = [[str(get(r)) for _, _, get in COLUMNS] for r in body]
    for row in cells:
        if len(row[1]) > LABEL_WIDTH:
            row[1] = row[1][: LABEL_WIDTH - 1] + "…"
    headers = [vi for vi, _, _ in COLUMNS]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    lines.append(line(headers))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(line(c) for c in cells[:-1])
    lines.append("  ".join("-" * w for w in widths))
    lines.append(line(cells[-1]))
    lines.append(f"Số liệu tính đến / as of {report.as_of.astimezone(VN_TZ):%d/%m/%Y %H:%M} (giờ Hà Nội).")
    lines.extend(report.notes)
    return "\n".join(lines)
