"""The commune's public posting sheet (niêm yết công khai TTHC): every procedure the
one-stop desk receives, with its time limit and fee, grouped by field, and a QR code
to the public lookup page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.adapters.db.models import OrgUnit, Procedure, ProcedureVersion
from engine.errors import InvalidInput, NotFound
from engine.domain.fields import FIELDS, field_label
from engine.procedure import ProcedureModel, ProcessMetadata

from .render import qr_svg, render
from .text import format_date, format_fee, format_limit


class CommuneLike(Protocol):
    name: str
    address: str
    category: str


@dataclass(frozen=True)
class Commune:
    name: str
    address: str = ""
    category: str = "normal"  # normal | mountainous: picks the limit that applies


@dataclass(frozen=True)
class PostedProcedure:
    code: str
    name: str
    field: str
    field_name: str
    limit_text: str
    fee: str


@dataclass(frozen=True)
class PostingGroup:
    field_name: str
    procedures: list[PostedProcedure]


def posted(item: ProcedureModel | ProcessMetadata | PostedProcedure, category: str = "normal") -> PostedProcedure:
    """One posting row; the limit is the one communes of `category` work to."""
    if isinstance(item, PostedProcedure):
        return item
    meta = item.metadata if isinstance(item, ProcedureModel) else item
    return PostedProcedure(meta.procedure_code, meta.name, meta.field, field_label(meta.field),
                           format_limit(meta.limit_for(category), meta.time_basis, short=True), format_fee(meta.fee))


def posting_groups(procedures: Iterable[PostedProcedure]) -> list[PostingGroup]:
    """Rows grouped by field in the order of the field registry, codes ascending inside."""
    order = {code: index for index, code in enumerate(FIELDS)}
    groups: dict[str, list[PostedProcedure]] = {}
    for row in procedures:
        groups.setdefault(row.field, []).append(row)
    return [PostingGroup(rows[0].field_name, sorted(rows, key=lambda r: r.code))
            for _, rows in sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]


def posting_sheet(commune: CommuneLike, procedures: Iterable[ProcedureModel | ProcessMetadata | PostedProcedure],
                  lookup_url: str, *, posted_on: date | None = None) -> str:
    """The posting sheet as a self-contained HTML page (print it with `to_pdf`)."""
    if not lookup_url or not lookup_url.strip():
        raise InvalidInput("the posting sheet needs the public lookup page's address for its QR code",
                           "bảng niêm yết cần địa chỉ trang tra cứu công khai để in mã QR", code="lookup_url_required",
                           hint="pass the URL of the public lookup page, e.g. https://dichvucong.example.gov.vn/tra-cuu")
    rows = [posted(p, getattr(commune, "category", "normal") or "normal") for p in procedures]
    if not rows:
        raise InvalidInput("there is no procedure to post", "không có thủ tục nào để niêm yết", code="nothing_to_post",
                           hint="publish the procedure models first (`isoflow publish`)")
    return render("posting_sheet.html", commune=commune, groups=posting_groups(rows), total=len(rows),
                  lookup_url=lookup_url.strip(), qr=qr_svg(lookup_url.strip(), scale=3),
                  posted_on=format_date(posted_on) if posted_on else "")


def effective_metadata(session: Session, on: date) -> list[ProcessMetadata]:
    """The metadata of every procedure's version in effect on `on` (newest effective first)."""
    rows = session.execute(
        select(Procedure.code, ProcedureVersion)
        .join(ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id)
        .where(ProcedureVersion.status == "approved", ProcedureVersion.effective_from.is_not(None),
               ProcedureVersion.effective_from <= on)
        .order_by(Procedure.code, ProcedureVersion.effective_from.desc(), ProcedureVersion.version_no.desc())
    ).all()
    chosen: dict[str, ProcedureVersion] = {}
    for code, version in rows:
        chosen.setdefault(code, version)
    return [_metadata(v.model_metadata) for v in chosen.values()]


def _metadata(data: dict) -> ProcessMetadata:
    return ProcessMetadata(**{k: v for k, v in data.items() if k in ProcessMetadata.__dataclass_fields__})


def commune_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"org unit {code} not found", f"không tìm thấy đơn vị {code}", code="unknown_unit",
                       hint="give the code of a commune, e.g. TRIPHU (see `isoflow db` seeding or the admin pages)")
    return unit
